package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/internal/wire"
)

// Exit codes of the original tools.
const (
	ExitOK = 0
	// ExitFail is mogadm's and mogstats' failure status, and mogfetch's
	// when no copy could be fetched.
	ExitFail = 1
	// ExitDie is what Perl's die exits with when no system error is
	// pending: the status of every other failure of the single-purpose
	// tools.
	ExitDie = 255
)

// Failure is an error with the message to print and the status to exit
// with.
type Failure struct {
	Code int
	Msg  string
	Err  error // cause, for errors.Is/As; may be nil
}

func (f *Failure) Error() string { return f.Msg }
func (f *Failure) Unwrap() error { return f.Err }

// Fail returns a Failure with an explicit exit status.
func Fail(code int, err error, format string, args ...any) error {
	return &Failure{Code: code, Msg: fmt.Sprintf(format, args...), Err: err}
}

// Die returns a Failure whose status is chosen by ExitCode from err, and
// whose message is prefix followed by Errstr(err) — the original's
// `die "<prefix>" . $mogc->errstr` pattern.
func Die(prefix string, err error) error {
	return &Failure{Code: ExitCode(err), Msg: prefix + Errstr(err), Err: err}
}

// ExitCode is the one table from errors to exit statuses:
//
//	*Failure with a code          → that code
//	context cancelled (signal)    → 130
//	local file error (*os.PathError, *os.LinkError) → its errno,
//	                                as Perl's die reports $! after a failed open/read/write
//	anything else (tracker ERR replies, trackers or storage nodes
//	unreachable, bad arguments)   → 255, Perl's die
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var f *Failure
	if errors.As(err, &f) && f.Code != 0 {
		return f.Code
	}
	if errors.Is(err, context.Canceled) {
		return 130
	}
	var pe *fs.PathError
	var le *os.LinkError
	if errors.As(err, &pe) || errors.As(err, &le) {
		var errno syscall.Errno
		if errors.As(err, &errno) && errno > 0 && errno < 255 {
			return int(errno)
		}
	}
	return ExitDie
}

// Errstr renders err as one line the way the original tools print their
// errors: a tracker ERR reply as "<code> <text>" (MogileFS::Client's
// errstr), other failures as a readable sentence.
func Errstr(err error) string {
	var f *Failure
	if errors.As(err, &f) {
		return f.Msg
	}
	var we *wire.Error
	if errors.As(err, &we) {
		text := we.Text
		if text == "" {
			text = we.Code
		}
		return we.Code + " " + text
	}
	var te *client.TrackerError
	if errors.As(err, &te) {
		switch {
		case errors.Is(te.Err, client.ErrTimeout):
			return fmt.Sprintf("timed out against tracker %s when sending command %q", te.Addr, te.Cmd)
		case errors.Is(te.Err, client.ErrNoTracker):
			return "couldn't connect to any tracker: " + oneLine(strings.TrimPrefix(te.Err.Error(), client.ErrNoTracker.Error()+": "))
		}
		return oneLine(te.Error())
	}
	return oneLine(err.Error())
}

// oneLine keeps a message on a single line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

// Report prints err's message on stderr (one line) and returns its exit
// status. A nil error returns 0 and prints nothing.
func Report(env *Env, err error) int {
	if err == nil {
		return ExitOK
	}
	fmt.Fprintln(env.Stderr, Errstr(err))
	return ExitCode(err)
}

// FileFail returns the failure for a local file error: msg, then the
// system's reason ("No such file or directory"), with the errno as exit
// status.
func FileFail(msg string, err error) error {
	return &Failure{Code: ExitCode(err), Msg: msg + ": " + Reason(err), Err: err}
}

// Reason returns the innermost system reason of err ("no such file or
// directory" rather than "open /x: no such file or directory").
func Reason(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return oneLine(pe.Err.Error())
	}
	return oneLine(err.Error())
}
