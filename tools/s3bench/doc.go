// Command s3bench is a load generator for any S3 endpoint: ours (mogproxy
// --s3-listen) or another system's, so that both are measured by the same
// client. It is a benchmark, not a test: it prints figures.
//
// Requests are path-style, signed with AWS Signature Version 4 in the
// Authorization header form with the SHA-256 of the body, as the AWS CLI
// signs over plain HTTP, on keep-alive connections; --unsigned-payload
// sends bodies as UNSIGNED-PAYLOAD instead, as the SDKs do over TLS. The
// bucket is created when it is missing.
//
// Small objects (the default): -n objects of --size bytes are written by -c
// clients (PUT phase), then read back once each in random order (GET
// phase); every byte read is compared with what was written. Each phase
// prints its requests per second and its p50 and p99 latencies. --phases
// runs only one of them (a get run reads what a put run with the same
// --prefix wrote), to measure or profile one kind of request alone.
//
// Multipart (--multipart-size > 0): one object of that size is uploaded as
// a multipart upload in --part-size (8 MiB) parts, -c parts at a time, then
// read back with ranged GETs of one part each, -c at a time (or with one
// GET, --ranged=false), every byte checked. It prints MiB/s for the upload
// (Create to Complete) and the download. With --plain-url, the same
// content is then written with one unsigned PUT to that URL plus the key
// and read back with one GET, checked the same way (plain-put, plain-get):
// for a gateway with a plain HTTP face beside its S3 one, such as
// mogproxy's /<domain>/<key>, the two figures differ only by the protocol.
//
// For example:
//
//	s3bench --endpoint=http://127.0.0.1:7080 --access-key=K --secret=S --bucket=bench -n 20000 -c 16
//	s3bench --endpoint=http://127.0.0.1:7080 --access-key=K --secret=S --bucket=bench --multipart-size=100MiB -c 10
//
// The content is pseudo-random (incompressible), derived from the object's
// number and the part's number, so nothing is kept in memory to verify it.
package main
