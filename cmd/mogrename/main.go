// Command mogrename is the MogileFS mogrename utility; see package tools/mogrename.
package main

import (
	"fmt"
	"os"

	"github.com/mogilefs-go/mogilefs/internal/version"
	"github.com/mogilefs-go/mogilefs/tools/mogrename"
)

func main() {
	if version.Requested(os.Args[1:]) {
		fmt.Println(version.Read().Line("mogrename"))
		return
	}
	os.Exit(mogrename.Run())
}
