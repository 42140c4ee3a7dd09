package edbatch

import (
	"crypto/ed25519"
	"crypto/sha512"
	"fmt"
	mrand "math/rand/v2"
	"testing"

	"filippo.io/edwards25519"
)

type signed struct {
	msgs, sigs [][]byte
}

func sign(t testing.TB, priv ed25519.PrivateKey, n int, seed uint64) signed {
	r := mrand.New(mrand.NewPCG(seed, 1))
	var s signed
	for i := range n {
		m := make([]byte, r.IntN(3000))
		for j := range m {
			m[j] = byte(r.Uint32())
		}
		if i%7 == 0 {
			m = nil // an empty message is signed too
		}
		s.msgs = append(s.msgs, m)
		s.sigs = append(s.sigs, ed25519.Sign(priv, m))
	}
	return s
}

func key(t testing.TB, seed byte) (ed25519.PublicKey, ed25519.PrivateKey) {
	var sd [32]byte
	sd[0] = seed
	priv := ed25519.NewKeyFromSeed(sd[:])
	return priv.Public().(ed25519.PublicKey), priv
}

// same checks VerifyAll against ed25519.Verify, signature by signature.
func same(t *testing.T, v *Verifier, pub ed25519.PublicKey, s signed, name string) []bool {
	t.Helper()
	got := v.VerifyAll(s.msgs, s.sigs)
	for i := range s.msgs {
		if want := ed25519.Verify(pub, s.msgs[i], s.sigs[i]); got[i] != want {
			t.Errorf("%s: signature %d: VerifyAll %v, ed25519.Verify %v", name, i, got[i], want)
		}
	}
	return got
}

func TestAllValid(t *testing.T) {
	pub, priv := key(t, 1)
	v, err := NewVerifier(pub)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 1, 2, 3, 64, 500} {
		s := sign(t, priv, n, uint64(n))
		got := same(t, v, pub, s, fmt.Sprintf("%d valid", n))
		for i, ok := range got {
			if !ok {
				t.Errorf("%d valid: signature %d rejected", n, i)
			}
		}
	}
}

// TestBadOnesFound: every kind of bad signature in a batch of good ones is
// rejected, and only it.
func TestBadOnesFound(t *testing.T) {
	pub, priv := key(t, 2)
	_, other := key(t, 3)
	v, _ := NewVerifier(pub)
	// L, the group order, little-endian: S + L is the same scalar but not
	// reduced, which Verify rejects.
	l := [32]byte{0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10}
	spoil := map[string]func(s *signed, i int){
		"message changed":   func(s *signed, i int) { s.msgs[i] = append([]byte("x"), s.msgs[i]...) },
		"R bit flipped":     func(s *signed, i int) { s.sigs[i][3] ^= 0x10 },
		"S bit flipped":     func(s *signed, i int) { s.sigs[i][40] ^= 0x01 },
		"sign bit of R":     func(s *signed, i int) { s.sigs[i][31] ^= 0x80 },
		"other key":         func(s *signed, i int) { s.sigs[i] = ed25519.Sign(other, s.msgs[i]) },
		"too short":         func(s *signed, i int) { s.sigs[i] = s.sigs[i][:63] },
		"empty":             func(s *signed, i int) { s.sigs[i] = nil },
		"all zero":          func(s *signed, i int) { s.sigs[i] = make([]byte, 64) },
		"two swapped":       func(s *signed, i int) { s.sigs[i], s.sigs[i+1] = s.sigs[i+1], s.sigs[i] },
		"R not canonical":   func(s *signed, i int) { copy(s.sigs[i][:32], nonCanonicalY()) },
		"R of identity, -0": func(s *signed, i int) { r := make([]byte, 32); r[0], r[31] = 1, 0x80; copy(s.sigs[i][:32], r) },
		"S not reduced": func(s *signed, i int) {
			var carry int
			for j := 0; j < 32; j++ {
				x := int(s.sigs[i][32+j]) + int(l[j]) + carry
				s.sigs[i][32+j], carry = byte(x), x>>8
			}
		},
	}
	for name, f := range spoil {
		for _, n := range []int{2, 40} {
			s := sign(t, priv, n, 7)
			bad := n / 2
			if name == "two swapped" {
				bad = 0
			}
			f(&s, bad)
			got := same(t, v, pub, s, name)
			if got[bad] {
				t.Errorf("%s: bad signature accepted", name)
			}
			good := 0
			for _, ok := range got {
				if ok {
					good++
				}
			}
			if want := n - 1; name == "two swapped" {
				want = n - 2
				if good != want {
					t.Errorf("%s: %d good, want %d", name, good, want)
				}
			} else if good != want {
				t.Errorf("%s: %d good, want %d", name, good, want)
			}
		}
	}
}

// nonCanonicalY is y = p+3 (not reduced), a valid point's y otherwise.
func nonCanonicalY() []byte {
	b := make([]byte, 32)
	for i := range b {
		b[i] = 0xff
	}
	b[0] = 0xed + 3
	b[31] = 0x7f
	return b
}

func TestBadKey(t *testing.T) {
	if _, err := NewVerifier(make([]byte, 31)); err == nil {
		t.Error("short key accepted")
	}
}

// FuzzVerifyAll: any change to messages or signatures gets the answers
// of ed25519.Verify.
func FuzzVerifyAll(f *testing.F) {
	f.Add([]byte("a"), uint8(0), uint8(5), uint8(1))
	f.Add([]byte{}, uint8(3), uint8(63), uint8(0x80))
	f.Fuzz(func(t *testing.T, extra []byte, which, pos, xor uint8) {
		pub, priv := key(t, 4)
		v, _ := NewVerifier(pub)
		s := sign(t, priv, 5, 11)
		i := int(which) % 5
		if int(pos) < 64 {
			s.sigs[i][pos] ^= xor
		} else {
			s.msgs[i] = append(s.msgs[i], extra...)
		}
		same(t, v, pub, s, "fuzz")
	})
}

func BenchmarkVerifyAll500(b *testing.B) {
	pub, priv := key(b, 5)
	v, _ := NewVerifier(pub)
	s := sign(b, priv, 500, 1)
	b.ResetTimer()
	for range b.N {
		v.VerifyAll(s.msgs, s.sigs)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*500), "ns/signature")
}

func BenchmarkVerifyEach500(b *testing.B) {
	pub, priv := key(b, 5)
	s := sign(b, priv, 500, 1)
	b.ResetTimer()
	for range b.N {
		for i := range s.msgs {
			ed25519.Verify(pub, s.msgs[i], s.sigs[i])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*500), "ns/signature")
}

// TestNonCanonicalR: a signature made with nonce 0 has R = identity. With
// R encoded canonically it is valid; with the sign bit set (x = 0, "-0")
// the same point is encoded non-canonically, and Verify rejects it even
// though the batch equation holds. VerifyAll must reject it too.
func TestNonCanonicalR(t *testing.T) {
	pub, priv := key(t, 6)
	v, _ := NewVerifier(pub)
	h := sha512.Sum512(priv.Seed())
	a, err := new(edwards25519.Scalar).SetBytesWithClamping(h[:32])
	if err != nil {
		t.Fatal(err)
	}
	zeroNonce := func(r, msg []byte) []byte {
		d := sha512.New()
		d.Write(r)
		d.Write(pub)
		d.Write(msg)
		k, _ := new(edwards25519.Scalar).SetUniformBytes(d.Sum(nil))
		s := new(edwards25519.Scalar).Multiply(k, a) // S = 0 + k·a
		return append(append([]byte(nil), r...), s.Bytes()...)
	}
	identity := make([]byte, 32)
	identity[0] = 1
	minusZero := append([]byte(nil), identity...)
	minusZero[31] |= 0x80
	for _, tc := range []struct {
		r    []byte
		want bool
	}{{identity, true}, {minusZero, false}} {
		s := sign(t, priv, 9, 3)
		s.sigs[4] = zeroNonce(tc.r, s.msgs[4])
		if got := ed25519.Verify(pub, s.msgs[4], s.sigs[4]); got != tc.want {
			t.Fatalf("R %x: ed25519.Verify %v, want %v", tc.r, got, tc.want)
		}
		if got := same(t, v, pub, s, fmt.Sprintf("R %x", tc.r)); got[4] != tc.want {
			t.Errorf("R %x: VerifyAll %v, want %v", tc.r, got[4], tc.want)
		}
	}
}
