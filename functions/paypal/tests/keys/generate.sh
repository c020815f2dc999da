#!/bin/sh
# Regenerates the TEST certificates of the paypal connector's tests and development settings: a
# test root CA and leaf certificates named like PayPal's message-verification certificates, valid
# 2020-01-01 to 2049-12-31. Test keys only: nothing here is PayPal's, nothing here is secret.
# Run from this directory: sh generate.sh
set -eu
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/ca.cnf" <<CNF
[ca]
default_ca = test
[test]
dir = $work
database = $work/index.txt
new_certs_dir = $work
serial = $work/serial
default_md = sha256
policy = any
copy_extensions = none
unique_subject = no
[any]
commonName = supplied
organizationName = optional
[root]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:\${ENV::LEAF_NAME}
authorityKeyIdentifier = keyid
CNF
touch "$work/index.txt"
echo 01 > "$work/serial"
dates="-startdate 20200101000000Z -enddate 20491231235959Z"
LEAF_NAME=unused; export LEAF_NAME
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out root-ca.key
openssl req -new -key root-ca.key -subj "/O=o2o-connectors TEST/CN=o2o TEST PayPal root CA" -out "$work/root.csr"
openssl ca -batch -config "$work/ca.cnf" -selfsign -keyfile root-ca.key -in "$work/root.csr" \
  -extensions root $dates -notext -out root-ca.pem
leaf() { # name, common name
  LEAF_NAME=$2; export LEAF_NAME
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1.key"
  openssl req -new -key "$1.key" -subj "/O=o2o-connectors TEST/CN=$2" -out "$work/$1.csr"
  openssl ca -batch -config "$work/ca.cnf" -cert root-ca.pem -keyfile root-ca.key \
    -in "$work/$1.csr" -extensions leaf $dates -notext -out "$1.pem"
}
leaf signer messageverificationcerts.sandbox.paypal.com
leaf signer-next messageverificationcerts.paypal.com
leaf wrong-name messageverificationcerts.paypal.example.com
