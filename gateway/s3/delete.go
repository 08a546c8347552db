package s3

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"io"
	"net/http"

	"github.com/mogilefs-go/mogilefs/client"
)

// maxDeleteKeys is the most keys of one DeleteObjects.
const maxDeleteKeys = 1000

func (c *call) deleteObjects() error {
	body, _, err := c.auth.Body(c.r)
	if err != nil {
		return err
	}
	b, err := io.ReadAll(io.LimitReader(body, 2<<20))
	if err != nil {
		return err
	}
	if m := c.r.Header.Get("Content-MD5"); m != "" {
		sum := md5.Sum(b)
		if m != base64.StdEncoding.EncodeToString(sum[:]) {
			return errBadDigest
		}
	}
	var req struct {
		Quiet   bool
		Objects []struct {
			Key       string
			VersionID string `xml:"VersionId"`
		} `xml:"Object"`
	}
	if err := xml.Unmarshal(b, &req); err != nil || len(req.Objects) == 0 {
		return errMalformedXML
	}
	if len(req.Objects) > maxDeleteKeys {
		return errMalformedXML
	}
	if err := c.requireBucket(); err != nil {
		return err
	}
	type deleted struct {
		Key string
	}
	type delError struct {
		Key, Code, Message string
	}
	var out struct {
		XMLName xml.Name `xml:"DeleteResult"`
		Xmlns   string   `xml:"xmlns,attr"`
		Deleted []deleted
		Errors  []delError `xml:"Error"`
	}
	out.Xmlns = xmlns
	cl := c.s.client(c.bucket)
	for _, o := range req.Objects {
		var e *apiError
		switch {
		case o.VersionID != "" && o.VersionID != "null":
			e = notImplemented("versions")
		case len(o.Key) > maxKey:
			e = errKeyTooLong
		case o.Key == "":
			e = invalidArgument("empty key")
		default:
			err := cl.Delete(c.ctx, o.Key)
			c.s.forget(c.bucket, o.Key)
			if err != nil && !client.IsUnknownKey(err) {
				e = toAPIError(err)
			}
		}
		if e != nil {
			out.Errors = append(out.Errors, delError{o.Key, e.Code, e.Message})
			continue
		}
		if !req.Quiet {
			out.Deleted = append(out.Deleted, deleted{o.Key})
		}
	}
	return c.sendXML(http.StatusOK, out)
}
