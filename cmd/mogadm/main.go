// Command mogadm is the MogileFS administration tool; see package
// tools/mogadm.
package main

import (
	"os"

	"github.com/mogilefs-go/mogilefs/tools/mogadm"
)

func main() {
	os.Exit(mogadm.Run())
}
