package main

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/spotcast/spotcast/api"
	"github.com/spotcast/spotcast/config"
)

// checkListen refuses to serve writes to a network without a token: a
// listener on an address other than loopback needs an auth token, unless
// insecure_no_token says the operator means it.
func checkListen(sc serveSettings) error {
	if sc.AuthToken != "" || sc.InsecureNoToken {
		return nil
	}
	for _, a := range []struct{ flag, addr string }{{"--http-addr", sc.HTTPAddr}, {"--grpc-addr", sc.GRPCAddr}} {
		if a.addr == "off" || loopback(a.addr) {
			continue
		}
		return fmt.Errorf("serve: %s %s is not a loopback address, and without a token anyone who can reach it could post events: "+
			"set one (--auth-token, $SPOTCAST_AUTH_TOKEN or serve.auth_token), or pass --insecure-no-token (serve.insecure_no_token: true) to serve writes to anyone", a.flag, a.addr)
	}
	return nil
}

// loopback reports a listen address only this machine can reach.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// allowedHosts are the names writes are served under: the configured
// ones and the listen address's host name.
func allowedHosts(sc serveSettings) []string {
	out := append([]string(nil), sc.AllowedHosts...)
	if host, _, err := net.SplitHostPort(sc.HTTPAddr); err == nil && host != "" && net.ParseIP(host) == nil {
		out = append(out, host)
	}
	return out
}

// serveLimits are the config's limits for the api package.
func serveLimits(l config.Limits) api.Limits {
	return api.Limits{MaxConcurrent: l.MaxConcurrent, MaxQueue: l.MaxQueue, MaxWait: time.Duration(l.MaxWait),
		MaxRegions: l.MaxRegions, MaxK: l.MaxK, MaxNodes: l.MaxNodes}
}
