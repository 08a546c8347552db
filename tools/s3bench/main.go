package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "s3bench:", err)
		os.Exit(1)
	}
}

// options are the command line's settings.
type options struct {
	endpoint, access, secret, region, bucket, prefix, class string
	plainURL, phases, cpuProfile                            string
	n, c, size                                              int
	multipartSize, partSize                                 int64
	ranged, json, unsigned                                  bool
}

func parseFlags(args []string, out io.Writer) (*options, error) {
	var o options
	var mpSize, partSize string
	fl := flag.NewFlagSet("s3bench", flag.ContinueOnError)
	fl.SetOutput(out)
	fl.StringVar(&o.endpoint, "endpoint", "", "S3 endpoint, http://host:port")
	fl.StringVar(&o.access, "access-key", "", "access key")
	fl.StringVar(&o.secret, "secret", "", "secret key")
	fl.StringVar(&o.region, "region", "us-east-1", "region of the signatures")
	fl.StringVar(&o.bucket, "bucket", "s3bench", "bucket (created when missing)")
	fl.StringVar(&o.prefix, "prefix", "", "prefix of the object keys (default: s3bench-<time>/)")
	fl.StringVar(&o.class, "storage-class", "", "x-amz-storage-class of the writes (default: none sent)")
	fl.StringVar(&o.phases, "phases", "put,get", "the phases to run, put,get, put or get (get alone reads what a put run with the same --prefix, -n and --size wrote; with --multipart-size, put is the upload alone)")
	fl.IntVar(&o.n, "n", 20000, "objects written and read (small objects)")
	fl.IntVar(&o.c, "c", 16, "concurrent clients")
	fl.IntVar(&o.size, "size", 4096, "object size in bytes (small objects)")
	fl.StringVar(&mpSize, "multipart-size", "0", "size of one object uploaded in parts (0: small objects instead)")
	fl.StringVar(&partSize, "part-size", "8MiB", "part size of the multipart upload and of the ranged GETs")
	fl.BoolVar(&o.ranged, "ranged", true, "read the multipart object with ranged GETs of one part each (else one GET)")
	fl.StringVar(&o.plainURL, "plain-url", "", "with --multipart-size: also PUT and GET the same content at this URL + key, unsigned (e.g. mogproxy's http://host:port/<domain>/)")
	fl.BoolVar(&o.unsigned, "unsigned-payload", false, "send bodies as UNSIGNED-PAYLOAD, as the SDKs do over TLS (else signed with their SHA-256, as the AWS CLI does over HTTP)")
	fl.BoolVar(&o.json, "json", false, "print the report as JSON")
	fl.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the run to this file")
	if err := fl.Parse(args); err != nil {
		return nil, err
	}
	if fl.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fl.Arg(0))
	}
	var err error
	if o.multipartSize, err = parseSize("multipart-size", mpSize); err != nil {
		return nil, err
	}
	if o.partSize, err = parseSize("part-size", partSize); err != nil {
		return nil, err
	}
	switch {
	case o.endpoint == "" || o.access == "" || o.secret == "":
		return nil, errors.New("--endpoint, --access-key and --secret are needed")
	case !strings.HasPrefix(o.endpoint, "http://") && !strings.HasPrefix(o.endpoint, "https://"):
		return nil, fmt.Errorf("--endpoint %q: want http://host:port", o.endpoint)
	case o.c < 1 || o.n < 1 || o.size < 0:
		return nil, errors.New("-c and -n must be positive, --size not negative")
	case o.phases != "put,get" && o.phases != "put" && o.phases != "get":
		return nil, fmt.Errorf("--phases %q: want put,get, put or get", o.phases)
	case o.phases == "get" && o.multipartSize > 0:
		return nil, errors.New("--phases=get is for small objects")
	case o.phases == "get" && o.prefix == "":
		return nil, errors.New("--phases=get needs the --prefix of the run that wrote the objects")
	case o.multipartSize > 0 && o.partSize < 1:
		return nil, errors.New("--part-size must be positive")
	}
	if o.prefix == "" {
		o.prefix = fmt.Sprintf("s3bench-%d/", time.Now().UnixNano())
	}
	return &o, nil
}

func parseSize(name, v string) (int64, error) {
	n, err := humanize.ParseBytes(v)
	if err != nil || n > 1<<50 {
		return 0, fmt.Errorf("--%s: %q is not a size such as 8MiB", name, v)
	}
	return int64(n), nil
}

// report is what a run measured.
type report struct {
	Endpoint string  `json:"endpoint"`
	Bucket   string  `json:"bucket"`
	Clients  int     `json:"clients"`
	Size     int64   `json:"size"`
	Phases   []phase `json:"phases"`
}

// phase is one timed phase.
type phase struct {
	Name         string  `json:"name"` // put, get, upload, download
	Requests     int     `json:"requests"`
	Errors       int     `json:"errors"`
	VerifyErrors int     `json:"verify_errors"`
	Seconds      float64 `json:"seconds"`
	ReqPerSec    float64 `json:"req_per_sec"`
	MiBPerSec    float64 `json:"mib_per_sec"`
	P50ms        float64 `json:"p50_ms"`
	P99ms        float64 `json:"p99_ms"`
	// CompleteSeconds is the time of CompleteMultipartUpload (upload).
	CompleteSeconds float64 `json:"complete_seconds,omitempty"`
	FirstError      string  `json:"first_error,omitempty"`
}

func run(ctx context.Context, args []string, out io.Writer) error {
	o, err := parseFlags(args, out)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	rep, err := bench(ctx, o)
	if rep != nil {
		if o.json {
			enc := json.NewEncoder(out)
			enc.SetIndent("", "  ")
			if jerr := enc.Encode(rep); jerr != nil {
				return jerr
			}
		} else {
			printReport(out, rep)
		}
	}
	if err != nil {
		return err
	}
	for _, p := range rep.Phases {
		if p.Errors+p.VerifyErrors > 0 {
			return fmt.Errorf("%s: %d errors, %d verification errors; first: %s", p.Name, p.Errors, p.VerifyErrors, p.FirstError)
		}
	}
	return nil
}

// bench creates the bucket and runs the phases o asks for.
func bench(ctx context.Context, o *options) (*report, error) {
	c := newS3Client(o.endpoint, o.access, o.secret, o.region, o.class, o.c)
	c.unsigned = o.unsigned
	defer c.close()
	if err := c.ensureBucket(ctx, o.bucket); err != nil {
		return nil, err
	}
	rep := &report{Endpoint: o.endpoint, Bucket: o.bucket, Clients: o.c, Size: int64(o.size)}
	if o.multipartSize > 0 {
		rep.Size = o.multipartSize
		return rep, benchMultipart(ctx, c, o, rep)
	}
	return rep, benchSmall(ctx, c, o, rep)
}

func printReport(w io.Writer, r *report) {
	fmt.Fprintf(w, "%s bucket %s, %d clients, %s objects\n", r.Endpoint, r.Bucket, r.Clients, humanize.IBytes(uint64(r.Size)))
	for _, p := range r.Phases {
		fmt.Fprintf(w, "%-8s %6d requests in %7.2fs:", p.Name, p.Requests, p.Seconds)
		if p.ReqPerSec > 0 {
			fmt.Fprintf(w, " %8.0f req/s,", p.ReqPerSec)
		}
		if p.MiBPerSec > 0 {
			fmt.Fprintf(w, " %7.1f MiB/s,", p.MiBPerSec)
		}
		if p.CompleteSeconds > 0 {
			fmt.Fprintf(w, " Complete %.2fs,", p.CompleteSeconds)
		}
		fmt.Fprintf(w, " p50 %.2f ms, p99 %.2f ms, errors %d, verify errors %d\n", p.P50ms, p.P99ms, p.Errors, p.VerifyErrors)
		if p.FirstError != "" {
			fmt.Fprintf(w, "         first error: %s\n", p.FirstError)
		}
	}
}
