package api

import (
	"strings"
	"sync"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/proto" // registers the codec textCodec wraps
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// textCodec is gRPC's proto codec, except for a request of the Spotcast
// service whose strings are not valid UTF-8. gRPC answers a message that
// does not decode with Internal, as if the server had failed; textCodec
// instead decodes it as an empty request marked with the offending field,
// which the interceptor answers with InvalidArgument naming the field, as
// HTTP answers 400 naming the parameter.
type textCodec struct{ base encoding.CodecV2 }

func newTextCodec() textCodec { return textCodec{base: encoding.GetCodecV2("proto")} }

func (c textCodec) Name() string { return c.base.Name() }

func (c textCodec) Marshal(v any) (mem.BufferSlice, error) { return c.base.Marshal(v) }

func (c textCodec) Unmarshal(data mem.BufferSlice, v any) error {
	err := c.base.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	m, ok := v.(proto.Message)
	// Only unary requests of the Spotcast service: the interceptor sees
	// each of them, and takes its mark back.
	if !ok || !strings.Contains(err.Error(), "invalid UTF-8") || !strings.HasPrefix(string(m.ProtoReflect().Descriptor().FullName()), "spotcast.") {
		return err
	}
	proto.Reset(m)
	field := badUTF8Field(data.Materialize(), m.ProtoReflect().Descriptor(), "")
	if field == "" {
		field = "request"
	}
	badText.Store(m, field)
	return nil
}

// badText marks the requests textCodec decoded empty, by the field that
// was not UTF-8.
var badText sync.Map

// takeBadText returns the InvalidArgument of a request textCodec marked.
func takeBadText(req any) error {
	f, ok := badText.LoadAndDelete(req)
	if !ok {
		return nil
	}
	return status.Errorf(codes.InvalidArgument, "%s: not valid UTF-8 text", f)
}

// badUTF8Field names the first string field of the encoded message b (of
// type md, nested fields dotted) that is not valid UTF-8.
func badUTF8Field(b []byte, md protoreflect.MessageDescriptor, prefix string) string {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return ""
		}
		b = b[n:]
		if typ != protowire.BytesType {
			if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
				return ""
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return ""
		}
		b = b[n:]
		fd := md.Fields().ByNumber(num)
		switch {
		case fd == nil:
		case fd.Kind() == protoreflect.StringKind && !utf8.Valid(v):
			return prefix + string(fd.Name())
		case fd.Kind() == protoreflect.MessageKind:
			if f := badUTF8Field(v, fd.Message(), prefix+string(fd.Name())+"."); f != "" {
				return f
			}
		}
	}
	return ""
}
