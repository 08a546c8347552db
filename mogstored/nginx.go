package mogstored

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/mogilefs-go/mogilefs/mogstored/nginxconf"
)

// nginxChild is nginx started by --server=nginx.
type nginxChild struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // set before exited is closed
}

// wait returns when nginx has exited: nil if it was stopped, an error
// if it died. It may be called more than once.
func (n *nginxChild) wait() error {
	<-n.exited
	return n.err
}

// waitListening waits until addr answers, or fails if nginx exits first.
func (n *nginxChild) waitListening(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		select {
		case <-n.exited:
			if n.err == nil {
				return fmt.Errorf("nginx exited before listening on %s", addr)
			}
			return n.err
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nginx does not answer on %s after %v", addr, timeout)
		}
	}
}

// findNginx returns bin if set, else the first nginx found where the
// original looked, then in PATH.
func findNginx(bin string) (string, error) {
	if bin != "" {
		if st, err := os.Stat(bin); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return "", fmt.Errorf("serverbin %s is not an executable", bin)
		}
		return bin, nil
	}
	for _, p := range []string{"/usr/sbin/nginx", "/usr/local/bin/nginx", "/usr/bin/nginx"} {
		if st, err := os.Stat(p); err == nil && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	if p, err := exec.LookPath("nginx"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("cannot find nginx; set serverbin")
}

// startNginx writes a WebDAV configuration for the docroot's devices into
// docroot/.tmp (where the original kept it) and runs nginx in the
// foreground. Cancelling ctx stops nginx gracefully (SIGQUIT, then SIGKILL
// after 10 s).
func startNginx(ctx context.Context, cfg Config, root *docRoot, log *slog.Logger) (*nginxChild, error) {
	bin, err := findNginx(cfg.ServerBin)
	if err != nil {
		return nil, err
	}
	v, _ := exec.Command(bin, "-V").CombinedOutput()
	tmp := filepath.Join(cfg.DocRoot, ".tmp")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("nginx temp dir: %w", err)
	}
	devs, err := root.devices()
	if err != nil {
		return nil, err
	}
	conf, err := nginxconf.Generate(nginxconf.Options{
		Listen: cfg.HTTPListen, DocRoot: cfg.DocRoot, Devices: devs, TempDir: tmp,
		RunAsRoot: os.Geteuid() == 0, Modules: string(v),
	})
	if err != nil {
		return nil, err
	}
	confPath := filepath.Join(tmp, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, fmt.Errorf("nginx config: %w", err)
	}
	cmd := exec.CommandContext(ctx, bin, "-p", tmp, "-c", confPath, "-g", "daemon off;")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGQUIT) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start nginx: %w", err)
	}
	log.Info("nginx started", "pid", cmd.Process.Pid, "bin", bin, "config", confPath, "listen", cfg.HTTPListen)
	n := &nginxChild{cmd: cmd, exited: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		if ctx.Err() == nil {
			n.err = fmt.Errorf("nginx died: %v", err)
		}
		close(n.exited)
	}()
	return n, nil
}
