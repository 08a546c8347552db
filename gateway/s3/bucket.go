package s3

import (
	"encoding/xml"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/mogilefs-go/mogilefs/client"
)

// unsupported are the subresources (query parameters) of features this
// API does not have; a request naming one answers NotImplemented unless
// a handler below takes it.
var unsupported = []string{
	"accelerate", "acl", "analytics", "attributes", "cors", "encryption", "intelligent-tiering",
	"inventory", "legal-hold", "lifecycle", "logging", "metrics", "notification", "object-lock",
	"ownershipControls", "partNumber", "policy", "policyStatus", "publicAccessBlock", "replication",
	"requestPayment", "restore", "retention", "select", "tagging", "torrent", "uploadId", "uploads",
	"versionId", "versioning", "versions", "website", "location", "delete",
}

// subresource returns the first unsupported subresource r names, but
// those of skip, or "".
func (c *call) subresource(skip ...string) string {
	for _, k := range unsupported {
		if _, ok := c.query[k]; ok && !slices.Contains(skip, k) {
			return k
		}
	}
	return ""
}

const xmlns = "http://s3.amazonaws.com/doc/2006-03-01/"

type owner struct {
	ID          string
	DisplayName string
}

func (c *call) owner() owner { return owner{ID: c.key.AccessKey, DisplayName: c.key.AccessKey} }

// epoch is the date shown where MogileFS records none.
const epoch = "1970-01-01T00:00:00.000Z"

func (c *call) listBuckets() error {
	if sub := c.subresource(); sub != "" {
		return notImplemented("?" + sub)
	}
	doms, err := c.s.base.Domains(c.ctx)
	if err != nil {
		return internal(err)
	}
	type bucket struct {
		Name         string
		CreationDate string
	}
	var out struct {
		XMLName xml.Name `xml:"ListAllMyBucketsResult"`
		Xmlns   string   `xml:"xmlns,attr"`
		Owner   owner
		Buckets []bucket `xml:"Buckets>Bucket"`
	}
	out.Xmlns, out.Owner = xmlns, c.owner()
	var names []string
	for _, d := range doms {
		if c.key.May(d.Name) {
			names = append(names, d.Name)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		out.Buckets = append(out.Buckets, bucket{n, epoch})
	}
	return c.sendXML(http.StatusOK, out)
}

func (c *call) serveBucket() error {
	sub := c.subresource()
	switch {
	case c.r.Method == http.MethodGet && sub == "":
		return c.listObjects()
	case c.r.Method == http.MethodGet && sub == "location":
		return c.getLocation()
	case c.r.Method == http.MethodGet && sub == "versioning":
		return c.getVersioning()
	case c.r.Method == http.MethodGet && sub == "acl":
		return c.getACL()
	case c.r.Method == http.MethodPost && sub == "delete":
		return c.deleteObjects()
	case c.r.Method == http.MethodGet && sub == "uploads":
		if err := c.requireBucket(); err != nil {
			return err
		}
		return c.listUploads()
	case sub != "":
		return notImplemented(c.r.Method + " ?" + sub)
	case c.r.Method == http.MethodPut:
		return c.createBucket()
	case c.r.Method == http.MethodHead:
		return c.headBucket()
	case c.r.Method == http.MethodDelete:
		return c.deleteBucket()
	}
	return errMethodNotAllow
}

// bucketExists asks the trackers whether the domain exists.
func (c *call) bucketExists() (bool, error) {
	doms, err := c.s.base.Domains(c.ctx)
	if err != nil {
		return false, internal(err)
	}
	for _, d := range doms {
		if d.Name == c.bucket {
			return true, nil
		}
	}
	return false, nil
}

// validBucket is a lenient check of a new bucket's name: S3's rules
// without the case rule (MogileFS domains may have upper case).
func validBucket(b string) bool {
	if len(b) < 1 || len(b) > 63 {
		return false
	}
	for i := 0; i < len(b); i++ {
		ch := b[i]
		if !('a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' || ch == '-' || ch == '.' || ch == '_') {
			return false
		}
	}
	return true
}

func (c *call) createBucket() error {
	if !validBucket(c.bucket) {
		return errInvalidBucket
	}
	// A body may carry a CreateBucketConfiguration with a location
	// constraint: accepted and ignored (the body is read, not kept).
	body, _, err := c.auth.Body(c.r)
	if err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, io.LimitReader(body, 1<<20)); err != nil {
		return err
	}
	_, err = c.s.base.Do(c.ctx, "create_domain", map[string]string{"domain": c.bucket})
	c.s.classes.forget()
	if client.IsCode(err, "domain_exists") {
		return errBucketOwned
	}
	if err != nil {
		return internal(err)
	}
	c.w.Header().Set("Location", "/"+c.bucket)
	c.w.WriteHeader(http.StatusOK)
	c.status = http.StatusOK
	return nil
}

func (c *call) headBucket() error {
	ok, err := c.bucketExists()
	if err != nil {
		return err
	}
	if !ok {
		return errNoSuchBucket
	}
	c.w.Header().Set("x-amz-bucket-region", "us-east-1")
	c.w.WriteHeader(http.StatusOK)
	c.status = http.StatusOK
	return nil
}

func (c *call) deleteBucket() error {
	keys, _, err := c.s.client(c.bucket).ListKeys(c.ctx, "", "", 1)
	switch {
	case client.IsUnknownDomain(err):
		return errNoSuchBucket
	case err != nil && !client.IsNoneMatch(err):
		return internal(err)
	case len(keys) > 0:
		return errBucketNotEmpty
	}
	_, err = c.s.base.Do(c.ctx, "delete_domain", map[string]string{"domain": c.bucket})
	c.s.classes.forget()
	switch {
	case client.IsUnknownDomain(err) || client.IsCode(err, "domain_not_found"):
		return errNoSuchBucket
	case client.IsCode(err, "domain_not_empty") || client.IsCode(err, "domain_has_files"):
		return errBucketNotEmpty
	case err != nil:
		return internal(err)
	}
	c.w.WriteHeader(http.StatusNoContent)
	c.status = http.StatusNoContent
	return nil
}

// requireBucket answers NoSuchBucket for a domain that does not exist.
func (c *call) requireBucket() error {
	ok, err := c.bucketExists()
	if err != nil {
		return err
	}
	if !ok {
		return errNoSuchBucket
	}
	return nil
}

func (c *call) getLocation() error {
	if err := c.requireBucket(); err != nil {
		return err
	}
	var out struct {
		XMLName xml.Name `xml:"LocationConstraint"`
		Xmlns   string   `xml:"xmlns,attr"`
	}
	out.Xmlns = xmlns
	return c.sendXML(http.StatusOK, out)
}

func (c *call) getVersioning() error {
	if err := c.requireBucket(); err != nil {
		return err
	}
	var out struct {
		XMLName xml.Name `xml:"VersioningConfiguration"`
		Xmlns   string   `xml:"xmlns,attr"`
	}
	out.Xmlns = xmlns
	return c.sendXML(http.StatusOK, out)
}

// getACL answers the only ACL there is: the owner has full control.
func (c *call) getACL() error {
	if c.hasObj {
		if _, _, err := c.info(); err != nil {
			return err
		}
	} else if err := c.requireBucket(); err != nil {
		return err
	}
	type grantee struct {
		XMLNSXSI    string `xml:"xmlns:xsi,attr"`
		Type        string `xml:"xsi:type,attr"`
		ID          string
		DisplayName string
	}
	type grant struct {
		Grantee    grantee
		Permission string
	}
	var out struct {
		XMLName xml.Name `xml:"AccessControlPolicy"`
		Xmlns   string   `xml:"xmlns,attr"`
		Owner   owner
		Grants  []grant `xml:"AccessControlList>Grant"`
	}
	out.Xmlns, out.Owner = xmlns, c.owner()
	out.Grants = []grant{{Grantee: grantee{"http://www.w3.org/2001/XMLSchema-instance", "CanonicalUser", c.key.AccessKey, c.key.AccessKey}, Permission: "FULL_CONTROL"}}
	return c.sendXML(http.StatusOK, out)
}

// hiddenKey reports whether key lies in a top-level area of the bucket
// that S3 does not show (mogfs's long-name surrogates, multipart staging).
func hiddenKey(key string) bool {
	return strings.HasPrefix(key, ".mogfs/") || strings.HasPrefix(key, ".s3/")
}
