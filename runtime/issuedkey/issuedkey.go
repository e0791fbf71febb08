package issuedkey

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/idemgen/idemgen/runtime/idempotency"
)

// MinSecretLen is the shortest secret New accepts (256 bits).
const MinSecretLen = 32

// DefaultMaxAge is how long a key stays valid when neither the policy nor
// Config.MaxAge says otherwise (the x-idempotent issued.maxAge default).
const DefaultMaxAge = 24 * time.Hour

// MaxSkew is how far in the future an issue time may lie (another server
// process's clock running ahead) before the key is rejected.
const MaxSkew = time.Minute

// Errors of Verify. Each wraps idempotency.ErrInvalidKey, so the middleware
// and callers of Do can treat them like any other unusable key.
var (
	// ErrMalformed: the key is not an issued key of this format at all.
	ErrMalformed = fmt.Errorf("%w: not a server-issued key", idempotency.ErrInvalidKey)
	// ErrSignature: no configured secret signed this key (forged, tampered
	// with, or signed by a secret that was retired).
	ErrSignature = fmt.Errorf("%w: the key's signature does not verify", idempotency.ErrInvalidKey)
	// ErrExpired: the key is older than the policy's maxAge, or its issue time
	// lies too far in the future.
	ErrExpired = fmt.Errorf("%w: the issued key has expired", idempotency.ErrInvalidKey)
	// ErrPrincipal: the key was issued to another principal, to a principal
	// when the request has none, or to none when the policy binds principals.
	ErrPrincipal = fmt.Errorf("%w: the key was not issued to this principal", idempotency.ErrInvalidKey)
)

// Layout of a key before base64url (no padding) encoding:
//
//	version(1) flags(1) kid(4) issuedAt(8, unix seconds, big endian) nonce(16) mac(16)
//
// kid is the first 4 bytes of SHA-256(secret), so a verifier picks the right
// secret without trying them all. mac is HMAC-SHA-256(secret, the first 30
// bytes || the principal when flagPrincipal is set), truncated to 128 bits.
const (
	version       = 1
	flagPrincipal = 1 << 0

	kidLen   = 4
	nonceLen = 16
	macLen   = 16
	bodyLen  = 1 + 1 + kidLen + 8 + nonceLen
	rawLen   = bodyLen + macLen

	// KeyLen is the length of every issued key in characters.
	KeyLen = (rawLen*8 + 5) / 6
)

var enc = base64.RawURLEncoding

// Config configures an Issuer.
type Config struct {
	// Secret signs new keys. At least MinSecretLen bytes. Required.
	Secret []byte
	// Previous are retired signing secrets whose keys still verify (secret
	// rotation: move the old Secret here and keep it for the longest maxAge).
	Previous [][]byte
	// MaxAge is the validity the issuing handler reports as expiresAt; the
	// policy's issued.maxAge is what verification enforces. Zero means 24h.
	MaxAge time.Duration
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
}

type secret struct {
	kid [kidLen]byte
	key []byte
}

// Issuer issues and verifies keys. It is safe for concurrent use.
type Issuer struct {
	sign   secret
	verify []secret // sign first
	maxAge time.Duration
	now    func() time.Time
}

// New returns an Issuer for cfg. It rejects secrets shorter than
// MinSecretLen and two secrets with the same key id (the same secret twice).
func New(cfg Config) (*Issuer, error) {
	if cfg.MaxAge < 0 {
		return nil, fmt.Errorf("issuedkey: want a positive MaxAge, got %s", cfg.MaxAge)
	}
	is := &Issuer{maxAge: cfg.MaxAge, now: cfg.Now}
	if is.maxAge == 0 {
		is.maxAge = DefaultMaxAge
	}
	if is.now == nil {
		is.now = time.Now
	}
	all := append([][]byte{cfg.Secret}, cfg.Previous...)
	for i, s := range all {
		if len(s) < MinSecretLen {
			what := "Secret"
			if i > 0 {
				what = fmt.Sprintf("Previous[%d]", i-1)
			}
			return nil, fmt.Errorf("issuedkey: %s: want at least %d bytes, got %d", what, MinSecretLen, len(s))
		}
		sum := sha256.Sum256(s)
		sc := secret{key: append([]byte(nil), s...)}
		copy(sc.kid[:], sum[:kidLen])
		for _, o := range is.verify {
			if o.kid == sc.kid {
				return nil, errors.New("issuedkey: the same secret is configured twice")
			}
		}
		is.verify = append(is.verify, sc)
	}
	is.sign = is.verify[0]
	return is, nil
}

// Issued is one issued key.
type Issued struct {
	// Key is the key to send as the idempotency key (KeyLen URL-safe characters).
	Key string
	// IssuedAt is the issue time, truncated to the second.
	IssuedAt time.Time
	// ExpiresAt is IssuedAt plus the Issuer's MaxAge.
	ExpiresAt time.Time
}

// Issue signs a new key. A non-empty principal binds the key to it: only a
// request whose principal is the same verifies.
func (is *Issuer) Issue(ctx context.Context, principal string) (Issued, error) {
	if err := ctx.Err(); err != nil {
		return Issued{}, err
	}
	var nonce [nonceLen]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return Issued{}, fmt.Errorf("issuedkey: reading randomness: %w", err)
	}
	at := is.now().Truncate(time.Second)
	return Issued{Key: is.sign.key1(at, nonce, principal), IssuedAt: at, ExpiresAt: at.Add(is.maxAge)}, nil
}

// key1 builds a version-1 key signed with sc.
func (sc *secret) key1(at time.Time, nonce [nonceLen]byte, principal string) string {
	var raw [rawLen]byte
	raw[0] = version
	if principal != "" {
		raw[1] = flagPrincipal
	}
	copy(raw[2:], sc.kid[:])
	binary.BigEndian.PutUint64(raw[2+kidLen:], uint64(at.Unix()))
	copy(raw[bodyLen-nonceLen:], nonce[:])
	mac := sum(sc.key, raw[:bodyLen], principal)
	copy(raw[bodyLen:], mac[:macLen])
	return enc.EncodeToString(raw[:])
}

func sum(key, body []byte, principal string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(body)
	if body[1]&flagPrincipal != 0 {
		h.Write([]byte(principal))
	}
	return h.Sum(nil)
}

// Decoded is the readable content of a key, before its signature is checked.
type Decoded struct {
	// KeyID identifies the secret that signed the key.
	KeyID [kidLen]byte
	// IssuedAt is the issue time the key claims.
	IssuedAt time.Time
	// BoundToPrincipal reports that the key was issued to a principal.
	BoundToPrincipal bool

	raw [rawLen]byte
}

// Decode parses key without verifying it. It returns ErrMalformed for
// anything that is not a version-1 issued key; it never panics, whatever key
// holds (it is fuzzed).
func Decode(key string) (Decoded, error) {
	var d Decoded
	if len(key) != KeyLen {
		return d, ErrMalformed
	}
	n, err := enc.Strict().Decode(d.raw[:], []byte(key))
	if err != nil || n != rawLen {
		return d, ErrMalformed
	}
	if d.raw[0] != version || d.raw[1]&^flagPrincipal != 0 {
		return d, ErrMalformed
	}
	copy(d.KeyID[:], d.raw[2:])
	secs := binary.BigEndian.Uint64(d.raw[2+kidLen:])
	if secs > 1<<40 { // far beyond any real clock; keeps time arithmetic in range
		return d, ErrMalformed
	}
	d.IssuedAt = time.Unix(int64(secs), 0)
	d.BoundToPrincipal = d.raw[1]&flagPrincipal != 0
	return d, nil
}

// Verify checks that key was issued by one of the configured secrets, is not
// older than maxAge (zero means 24h) and, when the key is bound to a
// principal, that principal is the one it was issued to. With bindPrincipal
// set a key that is bound to no principal is rejected too. It returns the
// time the key expires, or one of ErrMalformed, ErrSignature, ErrExpired and
// ErrPrincipal. The signature is checked before anything else is trusted.
func (is *Issuer) Verify(key, principal string, maxAge time.Duration, bindPrincipal bool) (time.Time, error) {
	d, err := Decode(key)
	if err != nil {
		return time.Time{}, err
	}
	var sc *secret
	for i := range is.verify {
		if is.verify[i].kid == d.KeyID {
			sc = &is.verify[i]
			break
		}
	}
	if sc == nil {
		return time.Time{}, ErrSignature
	}
	if d.BoundToPrincipal && principal == "" {
		// Without the principal the signature cannot be checked at all.
		return time.Time{}, ErrPrincipal
	}
	mac := sum(sc.key, d.raw[:bodyLen], principal)
	if subtle.ConstantTimeCompare(mac[:macLen], d.raw[bodyLen:]) != 1 {
		if d.BoundToPrincipal {
			// Either forged or issued to someone else; both are a 400, and
			// naming the principal case helps the honest client more.
			return time.Time{}, ErrPrincipal
		}
		return time.Time{}, ErrSignature
	}
	if bindPrincipal && !d.BoundToPrincipal {
		return time.Time{}, ErrPrincipal
	}
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
	}
	now := is.now()
	exp := d.IssuedAt.Add(maxAge)
	if now.After(exp) || d.IssuedAt.After(now.Add(MaxSkew)) {
		return time.Time{}, ErrExpired
	}
	return exp, nil
}

// VerifyKey is the idempotency.KeyVerifier of the Issuer.
func (is *Issuer) VerifyKey(_ context.Context, c idempotency.KeyCheck) (time.Time, error) {
	return is.Verify(c.Key, c.Principal, c.MaxAge, c.BindPrincipal)
}

// Option returns the idempotency.New option that makes a middleware whose
// policy sets Issued verify keys with this Issuer.
func (is *Issuer) Option() idempotency.Option { return idempotency.WithKeyVerifier(is.VerifyKey) }
