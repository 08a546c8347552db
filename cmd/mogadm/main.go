// Command mogadm is the MogileFS administration tool; see package
// tools/mogadm.
package main

import (
	"fmt"
	"os"

	"github.com/mogilefs-go/mogilefs/internal/version"
	"github.com/mogilefs-go/mogilefs/tools/mogadm"
)

func main() {
	if version.Requested(os.Args[1:]) {
		fmt.Println(version.Read().Line("mogadm"))
		return
	}
	os.Exit(mogadm.Run())
}
