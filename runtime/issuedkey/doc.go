// Package issuedkey issues and verifies server-issued idempotency keys.
//
// Some clients should not invent their own keys: a browser form or a payment
// link gets its key from the server when the page is rendered, so the server
// knows every transaction that was started. An Issuer signs keys with an HMAC
// secret; a key carries its issue time, a random nonce and, optionally, the
// principal it was issued to (only as part of the signature: the principal's
// bytes never appear in the key).
//
// An operation whose policy sets Issued (x-idempotent: issued: true) accepts
// only such keys: pass Issuer.Option to idempotency.New and the middleware
// verifies the signature, the age and (with bindPrincipal) the principal before
// it claims the key; a forged, expired or other-principal key gets a 400
// problem+json. A validly signed key that no request used yet is reported by
// the middleware's status lookup as "issued".
//
// Secrets rotate without a flag day: Config.Secret signs new keys and
// Config.Previous lists older secrets that still verify, until the longest
// MaxAge has passed since the rotation.
//
// The Issuer keeps no registry of the keys it issued: the signature is the
// proof, which keeps issuing free of store round trips and works across any
// number of server processes.
package issuedkey
