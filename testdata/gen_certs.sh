#!/usr/bin/env bash
# Regenerates every certificate and key in testdata/ with openssl.
# TEST-ONLY KEYS: they are public in this repository. Never use them for anything real.
#
#   ca.pem / ca.key            test CA (ECDSA P-256, 20 years)
#   localhost.pem / .key       leaf for localhost, 127.0.0.1, ::1 signed by the CA (20 years)
#   expired.pem / .key         leaf for localhost signed by the CA, expired in 2021
#   other_host.pem / .key      leaf for other.invalid signed by the CA (wrong host for localhost)
#   self_signed.pem / .key     self-signed leaf for localhost, not signed by the CA
#   localhost2.pem / .key      a second valid leaf for localhost (certificate reload tests)
set -euo pipefail
cd "$(dirname "$0")"
DAYS=7300
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

key() { openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt -out "$1"; }

leaf_ext() { # $1 = SAN list
  cat <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid,issuer
subjectAltName=$1
EXT
}

# CA
key ca.key
openssl req -x509 -new -key ca.key -sha256 -days "$DAYS" -subj "/CN=Quartz Test CA (TEST ONLY)" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out ca.pem

signed_leaf() { # $1 = name, $2 = CN, $3 = SAN
  key "$1.key"
  openssl req -new -key "$1.key" -subj "/CN=$2" -out "$work/$1.csr"
  leaf_ext "$3" > "$work/$1.ext"
  openssl x509 -req -in "$work/$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -CAserial "$work/ca.srl" \
    -sha256 -days "$DAYS" -extfile "$work/$1.ext" -out "$1.pem"
}

signed_leaf localhost localhost "DNS:localhost,IP:127.0.0.1,IP:::1"
signed_leaf localhost2 localhost "DNS:localhost,IP:127.0.0.1,IP:::1"
signed_leaf other_host other.invalid "DNS:other.invalid"

# Expired leaf: `openssl ca` is the only 3.0 tool that takes explicit past dates.
key expired.key
openssl req -new -key expired.key -subj "/CN=localhost" -out "$work/expired.csr"
mkdir -p "$work/ca"; : > "$work/ca/index.txt"; echo 1000 > "$work/ca/serial"
cat > "$work/ca.cnf" <<CNF
[ca]
default_ca = test
[test]
dir = $work/ca
database = \$dir/index.txt
serial = \$dir/serial
new_certs_dir = \$dir
certificate = $PWD/ca.pem
private_key = $PWD/ca.key
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[any]
commonName = supplied
[leaf]
$(leaf_ext "DNS:localhost,IP:127.0.0.1")
CNF
openssl ca -batch -config "$work/ca.cnf" -extensions leaf -notext \
  -startdate 20200101000000Z -enddate 20210101000000Z -in "$work/expired.csr" -out expired.pem 2>/dev/null

# Self-signed leaf (not a CA, not signed by ours).
key self_signed.key
leaf_ext "DNS:localhost,IP:127.0.0.1" | grep -v authorityKeyIdentifier > "$work/self.ext"
openssl req -x509 -new -key self_signed.key -sha256 -days "$DAYS" -subj "/CN=localhost" \
  -extensions v3 -config <(printf '[req]\ndistinguished_name=dn\n[dn]\n[v3]\n'; cat "$work/self.ext") \
  -out self_signed.pem

chmod 644 ./*.pem ./*.key
echo "certificates written to $(pwd)"
