// Command moglistkeys is the MogileFS moglistkeys utility; see package tools/moglistkeys.
package main

import (
	"fmt"
	"os"

	"github.com/mogilefs-go/mogilefs/internal/version"
	"github.com/mogilefs-go/mogilefs/tools/moglistkeys"
)

func main() {
	if version.Requested(os.Args[1:]) {
		fmt.Println(version.Read().Line("moglistkeys"))
		return
	}
	os.Exit(moglistkeys.Run())
}
