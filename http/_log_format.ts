import type { AccessLogEntry } from "./access_log.ts";

const HEX = "0123456789abcdef";
const MONTHS = [
  "Jan",
  "Feb",
  "Mar",
  "Apr",
  "May",
  "Jun",
  "Jul",
  "Aug",
  "Sep",
  "Oct",
  "Nov",
  "Dec",
];
const encoder = new TextEncoder();

function needsEscape(code: number): boolean {
  return code < 0x20 || code >= 0x7f || code === 0x22 || code === 0x5c;
}

function hexByte(b: number): string {
  return "\\x" + HEX[b >> 4] + HEX[b & 15];
}

/**
 * Escapes a value the way Apache's `ap_escape_logitem` does: `"` and `\`
 * get a backslash, `\b \n \r \t \v` their C escapes, every other control or
 * non-ASCII byte `\xhh`. Characters above U+00FF are escaped as their UTF-8
 * bytes; below that a character is one byte, as for a latin1-decoded request.
 */
export function escapeLogValue(value: string): string {
  let i = 0;
  const n = value.length;
  // Fast path: most values need nothing, and then nothing is allocated.
  while (i < n && !needsEscape(value.charCodeAt(i))) i++;
  if (i === n) return value;
  let out = value.slice(0, i);
  for (; i < n; i++) {
    const code = value.charCodeAt(i);
    if (!needsEscape(code)) {
      out += value[i];
      continue;
    }
    switch (code) {
      case 0x22:
        out += '\\"';
        break;
      case 0x5c:
        out += "\\\\";
        break;
      case 0x08:
        out += "\\b";
        break;
      case 0x0a:
        out += "\\n";
        break;
      case 0x0d:
        out += "\\r";
        break;
      case 0x09:
        out += "\\t";
        break;
      case 0x0b:
        out += "\\v";
        break;
      default:
        if (code <= 0xff) {
          out += hexByte(code);
        } else {
          const cp = value.codePointAt(i)!;
          const ch = String.fromCodePoint(cp);
          // A lone surrogate encodes as U+FFFD, which is still escaped.
          for (const b of encoder.encode(ch)) out += hexByte(b);
          i += ch.length - 1;
        }
    }
  }
  return out;
}

let cachedSecond = -1;
let cachedClf = "";

/** `[10/Oct/2000:13:55:36 +0000]` in UTC, cached per second. */
export function formatClfTime(timeMs: number): string {
  const second = Math.floor(timeMs / 1000);
  if (second === cachedSecond) return cachedClf;
  const d = new Date(second * 1000);
  cachedClf = "[" + pad2(d.getUTCDate()) + "/" + MONTHS[d.getUTCMonth()] +
    "/" + d.getUTCFullYear() + ":" + pad2(d.getUTCHours()) + ":" +
    pad2(d.getUTCMinutes()) + ":" + pad2(d.getUTCSeconds()) + " +0000]";
  cachedSecond = second;
  return cachedClf;
}

function pad2(n: number): string {
  return n < 10 ? "0" + n : String(n);
}

function field(value: string | null): string {
  return value === null || value === "" ? "-" : escapeLogValue(value);
}

/**
 * An unquoted field (`%h`, `%u`): a space would split it into two fields, so
 * it is escaped too.
 */
function bareField(value: string | null): string {
  if (value === null || value === "") return "-";
  const escaped = escapeLogValue(value);
  return escaped.includes(" ") ? escaped.replaceAll(" ", "\\x20") : escaped;
}

/** The `%r` field: the raw line when known, else its parts, else `-`. */
function requestLine(e: AccessLogEntry): string {
  if (e.requestLine !== null) {
    return e.requestLine === "" ? "-" : escapeLogValue(e.requestLine);
  }
  if (e.method === null || e.target === null) return "-";
  const line = e.protocol === null
    ? e.method + " " + e.target
    : e.method + " " + e.target + " " + e.protocol;
  return escapeLogValue(line);
}

/** Apache common log format: `%h %l %u %t "%r" %>s %b`. */
export function formatCommon(e: AccessLogEntry): string {
  return bareField(e.remoteAddr) + " - " + bareField(e.user) + " " +
    formatClfTime(e.time) + ' "' + requestLine(e) + '" ' + e.status + " " +
    (e.bytesSent > 0 ? String(e.bytesSent) : "-");
}

/** Apache combined format: common plus `"%{Referer}i" "%{User-agent}i"`. */
export function formatCombined(e: AccessLogEntry): string {
  return formatCommon(e) + ' "' + field(e.referer) + '" "' +
    field(e.userAgent) + '"';
}

/** One JSON object; `JSON.stringify` escapes quotes and control characters. */
export function formatJson(e: AccessLogEntry): string {
  const json = JSON.stringify({
    time: new Date(e.time).toISOString(),
    remoteAddr: e.remoteAddr,
    user: e.user,
    method: e.method,
    target: e.target,
    protocol: e.protocol,
    requestLine: e.requestLine,
    status: e.status,
    bytesSent: e.bytesSent,
    referer: e.referer,
    userAgent: e.userAgent,
    durationMs: e.durationMs,
  });
  // JSON.stringify leaves DEL, C1 controls and the Unicode line separators raw;
  // some log viewers treat them as line breaks or terminal controls.
  return UNSAFE_JSON.test(json)
    ? json.replace(UNSAFE_JSON_G, unicodeEscape)
    : json;
}

const UNSAFE_JSON = /[\x7f-\x9f\u2028\u2029]/;
const UNSAFE_JSON_G = /[\x7f-\x9f\u2028\u2029]/g;

function unicodeEscape(ch: string): string {
  return "\\u" + ch.charCodeAt(0).toString(16).padStart(4, "0");
}
