package mogstored

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	mogclient "github.com/mogilefs-go/mogilefs/client"
)

// Where /_concat may fetch parts from: only fid paths on the HTTP
// addresses of the hosts the trackers list, so that the request cannot
// make the node fetch anything else (docs/s3.md §6.1).

const (
	hostsTTL        = 30 * time.Second // get_hosts answer trusted this long
	hostsRetry      = time.Second      // an unknown address asks again after this
	concatDialWait  = 5 * time.Second
	concatReplyWait = 30 * time.Second
	concatMinRate   = 4 << 20 // bytes per second a part fetch may not fall below
)

// clusterHosts knows the cluster's storage node addresses ("ip:port").
type clusterHosts struct {
	link *mogclient.Client // nil: no trackers, every URL refused

	mu    sync.Mutex
	at    time.Time
	addrs map[string]bool
}

// parseSourceURL checks the form of a part's URL: http, host:port, a fid
// path, nothing else.
func parseSourceURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "http" || u.Opaque != "" || u.User != nil || u.RawQuery != "" ||
		u.ForceQuery || u.Fragment != "" || u.Host == "" || u.Port() == "" || u.RawPath != "" {
		return nil, fmt.Errorf("%q is not http://host:port/<fid path>", s)
	}
	if _, err := parseFIDPath(u.Path); err != nil {
		return nil, err
	}
	return u, nil
}

// check refuses a URL whose host:port is not a storage node of the
// cluster.
func (ch *clusterHosts) check(s string) error {
	u, err := parseSourceURL(s)
	if err != nil {
		return err
	}
	if ch == nil || ch.link == nil {
		return fmt.Errorf("%s: this node has no trackers to check other nodes against", u.Host)
	}
	ok, err := ch.known(u.Host)
	if err != nil {
		return fmt.Errorf("list the cluster's hosts: %w", err)
	}
	if !ok {
		return fmt.Errorf("%s is not a storage node of the cluster", u.Host)
	}
	return nil
}

// known says whether addr is a host's HTTP address, asking get_hosts
// when the answer is old (or addr unknown and the answer not brand new).
func (ch *clusterHosts) known(addr string) (bool, error) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	age := time.Since(ch.at)
	if age < hostsTTL && (ch.addrs[addr] || age < hostsRetry) {
		return ch.addrs[addr], nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), fpTrackerTimeout)
	defer cancel()
	a, err := ch.link.Do(ctx, "get_hosts", nil)
	if err != nil {
		return false, err
	}
	n, _ := strconv.Atoi(a["hosts"])
	addrs := make(map[string]bool, 2*n)
	for i := 1; i <= n; i++ {
		p := "host" + strconv.Itoa(i) + "_"
		// Paths name a host by its IP, or by its alternative IP for
		// clients in its altmask network.
		for _, ip := range []string{a[p+"hostip"], a[p+"altip"]} {
			if ip == "" {
				continue
			}
			for _, port := range []string{a[p+"http_port"], a[p+"http_get_port"]} {
				if port != "" && port != "0" {
					addrs[net.JoinHostPort(ip, port)] = true
				}
			}
		}
	}
	ch.addrs, ch.at = addrs, time.Now()
	return addrs[addr], nil
}

// newConcatHTTP is the client that fetches parts from other nodes: no
// redirects followed, no proxy from the environment.
func newConcatHTTP() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           (&net.Dialer{Timeout: concatDialWait}).DialContext,
			ResponseHeaderTimeout: concatReplyWait,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       time.Minute,
			DisableCompression:    true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// remote appends the part at u (checked already) from another node.
func (cw *concatWriter) remote(u string, size int64) error {
	// A stalled node must not hold the request for ever: a part may
	// take concatReplyWait plus a second per concatMinRate bytes.
	ctx, cancel := context.WithTimeout(context.Background(), concatReplyWait+time.Duration(size/concatMinRate)*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := cw.h.concatHTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("GET %s: status %d", u, resp.StatusCode)
	}
	if resp.ContentLength >= 0 && resp.ContentLength != size {
		return fmt.Errorf("GET %s: %d bytes, not %d", u, resp.ContentLength, size)
	}
	return cw.stream(resp.Body, u, size)
}
