// The Date header value, rebuilt at most once per second and only when a
// response needs it: no timer, so nothing for the test sanitizers to trip on.

let cachedSecond = -1;
let cachedValue = "";

/** The current time as an IMF-fixdate (RFC 9110 §5.6.7). */
export function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedValue = new Date(second * 1000).toUTCString();
  }
  return cachedValue;
}

let lineSecond = -1;
let lineBytes = new Uint8Array(0);
const encoder = new TextEncoder();

/** `date: <IMF-fixdate>\r\n` as bytes, rebuilt at most once per second. */
export function httpDateLine(): Uint8Array {
  const second = Math.floor(Date.now() / 1000);
  if (second !== lineSecond) {
    lineSecond = second;
    lineBytes = encoder.encode(
      "date: " + new Date(second * 1000).toUTCString() + "\r\n",
    );
  }
  return lineBytes;
}
