// Package storetest is the conformance suite for store.Store
// implementations: Run exercises every method against a fresh database and
// checks the semantics written in the store package's doc comments.
//
// Multi-tracker tests (named locks held across stores, queue leases and
// fid allocation from two stores at once) run when the store returned by
// open also implements Reopener.
package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// Reopener is implemented by stores that can open a second, independent
// store on the same database, as a second tracker would. Reopen returns a
// nil store and no error when the database cannot be shared (an in-memory
// database).
type Reopener interface {
	Reopen(ctx context.Context) (store.Store, error)
}

// Run runs the conformance suite. open must return a store on a fresh,
// set-up (schema version 17) database and arrange for it to be closed.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Now", testNow},
		{"Domains", testDomains},
		{"Classes", testClasses},
		{"Hosts", testHosts},
		{"Devices", testDevices},
		{"Settings", testSettings},
		{"TempfileAndCommit", testTempfileAndCommit},
		{"CommitReplacesKey", testCommitReplaces},
		{"ExplicitFID", testExplicitFID},
		{"DiscardTempfile", testDiscardTempfile},
		{"OldTempfiles", testOldTempfiles},
		{"DeleteFile", testDeleteFile},
		{"DeleteKey", testDeleteKey},
		{"RenameFile", testRenameFile},
		{"SetFileClass", testSetFileClass},
		{"ListKeys", testListKeys},
		{"ListKeysCase", testListKeysCase},
		{"ListKeysWildcards", testListKeysWildcards},
		{"ListFiles", testListFiles},
		{"FileOn", testFileOn},
		{"Checksum", testChecksum},
		{"FileDebug", testFileDebug},
		{"Queues", testQueues},
		{"QueueTypes", testQueueTypes},
		{"ReplicateNow", testReplicateNow},
		{"FsckLog", testFsckLog},
		{"Locks", testLocks},
		{"ManyLocks", testManyLocks},
		{"ConcurrentFIDs", testConcurrentFIDs},
		{"ConcurrentGrab", testConcurrentGrab},
		{"SameKeyRace", testSameKeyRace},
		{"TwoTrackers", testTwoTrackers},
		{"DeleteTempfile", testDeleteTempfile},
		{"FIDsOnDeviceDesc", testFIDsOnDeviceDesc},
		{"EnqueueMany", testEnqueueMany},
		{"LegacyDeletesEmpty", testLegacyDeletesEmpty},
		{"LeaseTempfiles", testLeaseTempfiles},
		{"CommitFiles", testCommitFiles},
		{"CommitFilesPeers", testCommitFilesPeers},
		{"CommitFilesRace", testCommitFilesRace},
		{"CommitFilesLarge", testCommitFilesLarge},
		{"FilesByKeys", testFilesByKeys},
		{"FsckFiles", testFsckFiles},
		{"DequeueMany", testDequeueMany},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
	RunMogfs(t, open)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// reopen opens another store on the same database, or returns nil when
// the store cannot do that.
func reopen(t *testing.T, s store.Store) store.Store {
	t.Helper()
	r, ok := s.(Reopener)
	if !ok {
		return nil
	}
	s2, err := r.Reopen(ctxT(t))
	if err != nil {
		t.Fatalf("second store on the same database: %v", err)
	}
	if s2 == nil {
		return nil
	}
	t.Cleanup(func() { s2.Close() })
	return s2
}

// second is reopen that skips the test when there is no second store.
func second(t *testing.T, s store.Store) store.Store {
	t.Helper()
	s2 := reopen(t, s)
	if s2 == nil {
		t.Skip("this store cannot open a second store on its database")
	}
	return s2
}
