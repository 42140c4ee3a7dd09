// Package edbatch checks many Ed25519 signatures made with one public key
// at once. The portal signs every delivery with the same key, and one
// batch check costs about a third of checking each signature alone: the
// sum of all signature equations, each weighted with a random 128-bit
// factor, is one multi-scalar multiplication in which the public key's
// terms fold into one.
//
// The answers are those of crypto/ed25519.Verify: encodings Verify
// rejects (S not reduced, R not canonical) are rejected before the batch,
// and when the batch equation fails, every signature of the batch is
// checked alone with ed25519.Verify, so a bad one cannot take good ones
// down with it. The batch equation is the cofactored one; it differs from
// Verify only for signatures with a small-order component, which only the
// holder of the private key can make.
package edbatch

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"errors"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

// Verifier checks signatures made with one public key.
type Verifier struct {
	pub ed25519.PublicKey
	a   *edwards25519.Point
}

// NewVerifier decodes the public key once.
func NewVerifier(pub ed25519.PublicKey) (*Verifier, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, errors.New("edbatch: public key must be 32 bytes")
	}
	a, err := new(edwards25519.Point).SetBytes(pub)
	if err != nil {
		return nil, errors.New("edbatch: public key is not a point")
	}
	return &Verifier{pub: append(ed25519.PublicKey(nil), pub...), a: a}, nil
}

// Verify checks one signature (ed25519.Verify).
func (v *Verifier) Verify(msg, sig []byte) bool { return ed25519.Verify(v.pub, msg, sig) }

// VerifyAll reports for each i whether sigs[i] is a valid signature of
// msgs[i]; ok[i] is what ed25519.Verify(pub, msgs[i], sigs[i]) returns.
func (v *Verifier) VerifyAll(msgs, sigs [][]byte) []bool {
	if len(msgs) != len(sigs) {
		panic("edbatch: VerifyAll with different numbers of messages and signatures")
	}
	ok := make([]bool, len(msgs))
	idx := make([]int, 0, len(msgs))
	points := make([]*edwards25519.Point, 0, len(msgs)+2)
	var rs []edwards25519.Point
	var ss []edwards25519.Scalar
	rs, ss = make([]edwards25519.Point, len(msgs)), make([]edwards25519.Scalar, len(msgs))
	for i, sig := range sigs {
		if len(sig) != ed25519.SignatureSize {
			continue
		}
		if _, err := ss[i].SetCanonicalBytes(sig[32:]); err != nil {
			continue
		}
		if !decodeCanonical(&rs[i], sig[:32]) {
			continue
		}
		idx = append(idx, i)
	}
	switch len(idx) {
	case 0:
		return ok
	case 1:
		ok[idx[0]] = v.Verify(msgs[idx[0]], sigs[idx[0]])
		return ok
	}
	random := make([]byte, 16*len(idx))
	if _, err := rand.Read(random); err != nil {
		return v.each(ok, idx, msgs, sigs)
	}
	scalars := make([]*edwards25519.Scalar, 0, len(idx)+2)
	zs := make([]edwards25519.Scalar, len(idx))
	sumS, sumH := edwards25519.NewScalar(), edwards25519.NewScalar()
	var wide [64]byte
	var h edwards25519.Scalar
	for k, i := range idx {
		// z: a random factor below 2^128.
		copy(wide[:16], random[16*k:16*k+16])
		clear(wide[16:])
		if _, err := zs[k].SetUniformBytes(wide[:]); err != nil {
			return v.each(ok, idx, msgs, sigs)
		}
		// h = SHA-512(R || A || M) mod L, as in RFC 8032.
		d := sha512.New()
		d.Write(sigs[i][:32])
		d.Write(v.pub)
		d.Write(msgs[i])
		if _, err := h.SetUniformBytes(d.Sum(wide[:0])); err != nil {
			return v.each(ok, idx, msgs, sigs)
		}
		sumS.MultiplyAdd(&zs[k], &ss[i], sumS)
		sumH.MultiplyAdd(&zs[k], &h, sumH)
		scalars = append(scalars, &zs[k])
		points = append(points, &rs[i])
	}
	// Each valid signature has [S]B = R + [h]A, so the weighted sum
	// Σz·R + (Σz·h)·A − (Σz·S)·B is the identity (up to small order).
	sumS.Negate(sumS)
	scalars = append(scalars, sumH, sumS)
	points = append(points, v.a, edwards25519.NewGeneratorPoint())
	sum := new(edwards25519.Point).VarTimeMultiScalarMult(scalars, points)
	if sum.MultByCofactor(sum).Equal(edwards25519.NewIdentityPoint()) == 1 {
		for _, i := range idx {
			ok[i] = true
		}
		return ok
	}
	return v.each(ok, idx, msgs, sigs)
}

func (v *Verifier) each(ok []bool, idx []int, msgs, sigs [][]byte) []bool {
	for _, i := range idx {
		ok[i] = v.Verify(msgs[i], sigs[i])
	}
	return ok
}

// decodeCanonical decodes R the way ed25519.Verify accepts it: Verify
// compares R with the canonical encoding of the point it computes, so an
// R whose y is not reduced, or with the sign bit set where x is zero,
// never verifies.
func decodeCanonical(p *edwards25519.Point, b []byte) bool {
	var y [32]byte
	copy(y[:], b)
	y[31] &= 0x7f
	fe, err := new(field.Element).SetBytes(y[:])
	if err != nil || string(fe.Bytes()) != string(y[:]) {
		return false
	}
	if _, err := p.SetBytes(b); err != nil {
		return false
	}
	if b[31]&0x80 != 0 {
		x, _, _, _ := p.ExtendedCoordinates()
		if x.Equal(new(field.Element)) == 1 {
			return false
		}
	}
	return true
}
