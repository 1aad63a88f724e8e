#!/bin/sh
# Creates what examples/mtls needs to run on one machine: a client CA (client-ca.pem, the
# trust pool of the gateway's client_auth) and two client certificates whose SPIFFE ids
# map to the example's roles: svc-chat (spiffe://example/chat, may chat) and svc-batch
# (spiffe://example/batch, may only create embeddings). Valid 30 days; for local use only.
# An existing client-ca.pem is kept, so that running it again changes nothing.
set -eu
cd "$(dirname "$0")"
if [ -f client-ca.pem ]; then
	echo "client-ca.pem exists; keeping it and its client certificates"
	exit 0
fi
umask 077
ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
openssl req -x509 $ec -days 30 -subj "/CN=llmguard example client CA" \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
	-keyout client-ca.key -out client-ca.pem 2>/dev/null
for svc in chat batch; do
	printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\nsubjectAltName=URI:spiffe://example/%s\n' "$svc" >"svc-$svc.ext"
	openssl req $ec -subj "/CN=svc-$svc" -keyout "svc-$svc.key" -out "svc-$svc.csr" 2>/dev/null
	openssl x509 -req -in "svc-$svc.csr" -CA client-ca.pem -CAkey client-ca.key -CAcreateserial \
		-days 30 -extfile "svc-$svc.ext" -out "svc-$svc.crt" 2>/dev/null
	rm -f "svc-$svc.csr" "svc-$svc.ext"
done
rm -f client-ca.srl
echo "wrote client-ca.pem (+ client-ca.key), svc-chat.crt/.key, svc-batch.crt/.key"
