package sentinel

import (
	"bytes"
	"encoding/binary"
	"errors"
)

// EncodedSize is the size of an encoded State.
var EncodedSize = binary.Size(State{})

// Encode returns s in the fixed little-endian layout a shared store keeps.
func (s *State) Encode() []byte {
	var b bytes.Buffer
	b.Grow(EncodedSize)
	_ = binary.Write(&b, binary.LittleEndian, s) // cannot fail: fixed-size fields, in-memory writer
	return b.Bytes()
}

// errStateSize is returned for a stored value of another layout (another version, or
// not ours): the actor starts afresh rather than being misread.
var errStateSize = errors.New("sentinel: stored state has an unexpected size")

// Decode reads a State written by Encode.
func Decode(b []byte) (State, error) {
	var s State
	if len(b) != EncodedSize {
		return s, errStateSize
	}
	err := binary.Read(bytes.NewReader(b), binary.LittleEndian, &s)
	return s, err
}
