// Writes every protobuf file registered by the pinned Temporal Go modules as one FileDescriptorSet.
package main

import (
	"flag"
	"fmt"
	"os"
	"sort"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	// The public API: the workflow and operator services reach every type they use; the details of
	// Temporal's errors are reached by none.
	_ "go.temporal.io/api/errordetails/v1"
	_ "go.temporal.io/api/operatorservice/v1"
	_ "go.temporal.io/api/workflowservice/v1"

	// The server's admin service and the internal types replication carries.
	_ "go.temporal.io/server/api/adminservice/v1"
	_ "go.temporal.io/server/api/enums/v1"
	_ "go.temporal.io/server/api/history/v1"
	_ "go.temporal.io/server/api/namespace/v1"
	_ "go.temporal.io/server/api/persistence/v1"
	_ "go.temporal.io/server/api/replication/v1"
)

func main() {
	out := flag.String("out", "", "path of the FileDescriptorSet to write")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "usage: schema -out <file.binpb>")
		os.Exit(2)
	}
	set := collect()
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(set)
	if err != nil {
		fmt.Fprintf(os.Stderr, "schema: cannot serialize the descriptor set: %v\n", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "schema: cannot write %s: %v\n", *out, err)
		os.Exit(1)
	}
	fmt.Printf("schema: wrote %d files (%d bytes) to %s\n", len(set.File), len(data), *out)
}

// collect lists the registered files in a stable order, each after the files it imports.
func collect() *descriptorpb.FileDescriptorSet {
	var paths []string
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		paths = append(paths, fd.Path())
		return true
	})
	sort.Strings(paths)

	set := &descriptorpb.FileDescriptorSet{}
	done := map[string]bool{}
	var visit func(fd protoreflect.FileDescriptor)
	visit = func(fd protoreflect.FileDescriptor) {
		if done[fd.Path()] {
			return
		}
		done[fd.Path()] = true
		imports := fd.Imports()
		for i := 0; i < imports.Len(); i++ {
			visit(imports.Get(i).FileDescriptor)
		}
		set.File = append(set.File, protodesc.ToFileDescriptorProto(fd))
	}
	for _, path := range paths {
		fd, err := protoregistry.GlobalFiles.FindFileByPath(path)
		if err != nil {
			fmt.Fprintf(os.Stderr, "schema: %s vanished from the registry: %v\n", path, err)
			os.Exit(1)
		}
		visit(fd)
	}
	return set
}
