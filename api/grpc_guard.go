package api

import (
	"context"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// grpcAdmit is admit for gRPC: strings must be UTF-8 (see textCodec), a
// set as_of must be a valid time after
// year 1 (the zero time is not "now"), and reads need the token when
// AuthReads says so. (The Service's cap on answers computed at once
// answers ResourceExhausted through grpcError.)
func grpcAdmit(ctx context.Context, opts GRPCOptions, info *grpc.UnaryServerInfo, req any) error {
	if err := takeBadText(req); err != nil {
		return err
	}
	if r, ok := req.(interface{ GetAsOf() *timestamppb.Timestamp }); ok && r.GetAsOf() != nil {
		ts := r.GetAsOf()
		if err := ts.CheckValid(); err != nil || ts.AsTime().IsZero() {
			return status.Error(codes.InvalidArgument, "as_of: not a valid time after year 1 (leave it unset for now)")
		}
	}
	if opts.AuthReads && opts.AuthToken != "" && strings.HasPrefix(info.FullMethod, "/spotcast.") && !grpcAuthorized(ctx, opts.AuthToken) {
		return status.Error(codes.Unauthenticated, "missing or wrong bearer token (metadata authorization: Bearer TOKEN)")
	}
	return nil
}
