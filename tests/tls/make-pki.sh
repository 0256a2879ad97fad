#!/usr/bin/env bash
# Makes the certificates the TLS tests use, in DIR (created if missing):
#   ca.pem            the test CA, trusted by the clients (tls_ca=)
#   other-ca.pem      a second CA nobody trusts
#   server.pem/.key   signed by ca, for localhost, 127.0.0.1 and ::1
#   server-other-ca.pem/.key   the same names, signed by other-ca
#   server-expired.pem/.key    signed by ca, valid only in 2020
#   server-wrong-name.pem/.key signed by ca, for wrong.invalid only
#   client.pem/.key            a client certificate signed by ca
#   client-other-ca.pem/.key   a client certificate signed by other-ca
# Keys are P-256 ECDSA (fast to make); nothing here leaves DIR.
set -euo pipefail
dir="${1:?usage: make-pki.sh DIR}"
mkdir -p "$dir"
cd "$dir"
if [[ -s client-other-ca.pem ]]; then exit 0; fi

key() { openssl ecparam -name prime256v1 -genkey -noout -out "$1.key" 2>/dev/null; }

ca() { # name, subject
  key "$1"
  openssl req -x509 -new -key "$1.key" -days 3650 -subj "/CN=$2" -out "$1.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>/dev/null
}

leaf() { # name, ca, CN, subjectAltName, extendedKeyUsage
  key "$1"
  openssl req -new -key "$1.key" -subj "/CN=$3" -out "$1.csr" 2>/dev/null
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\nsubjectAltName=%s\n' \
    "$5" "$4" >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days 3650 \
    -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

names='DNS:localhost,IP:127.0.0.1,IP:::1'
ca ca "mcring test CA"
ca other-ca "mcring other CA"
leaf server ca localhost "$names" serverAuth
leaf server-other-ca other-ca localhost "$names" serverAuth
leaf server-wrong-name ca wrong.invalid 'DNS:wrong.invalid' serverAuth
leaf client ca mcring-client 'DNS:mcring-client' clientAuth
leaf client-other-ca other-ca mcring-client 'DNS:mcring-client' clientAuth

# An expired certificate: `openssl x509` cannot backdate, `openssl ca` can.
key server-expired
openssl req -new -key server-expired.key -subj "/CN=localhost" -out server-expired.csr 2>/dev/null
mkdir -p ca-db
: >ca-db/index.txt
cat >ca-db/ca.cnf <<CNF
[ca]
default_ca = test
[test]
database = ca-db/index.txt
new_certs_dir = ca-db
serial = ca-db/serial
default_md = sha256
policy = anything
copy_extensions = none
x509_extensions = leaf
[anything]
commonName = supplied
[leaf]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $names
CNF
echo 01 >ca-db/serial
openssl ca -batch -config ca-db/ca.cnf -cert ca.pem -keyfile ca.key -in server-expired.csr \
  -startdate 20200101000000Z -enddate 20200102000000Z -out server-expired.pem -notext 2>/dev/null
rm -rf ca-db server-expired.csr ./*.srl
