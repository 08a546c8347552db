// Command mogfetch is the MogileFS mogfetch utility; see package tools/mogfetch.
package main

import (
	"fmt"
	"os"

	"github.com/mogilefs-go/mogilefs/internal/version"
	"github.com/mogilefs-go/mogilefs/tools/mogfetch"
)

func main() {
	if version.Requested(os.Args[1:]) {
		fmt.Println(version.Read().Line("mogfetch"))
		return
	}
	os.Exit(mogfetch.Run())
}
