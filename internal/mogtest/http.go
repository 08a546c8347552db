package mogtest

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

// Put sends body to url with an HTTP PUT (a storage node's fid path, a
// gateway's key) and fails the test unless the answer is a 2xx.
func Put(t testing.TB, url string, body []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("PUT %s: %s", url, resp.Status)
	}
}
