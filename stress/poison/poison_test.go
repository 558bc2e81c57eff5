package poison_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/go-reclaim/reclaim/stress/poison"
)

// Production types embed Canary, so the package must not pull test
// dependencies (testing, goleak, porcupine, rapid, package stress) into
// the programs that use them: it imports only what is listed here.
func TestImportsNoTestDependencies(t *testing.T) {
	allowed := map[string]bool{"encoding/binary": true}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if !allowed[path] {
				t.Errorf("%s imports %s: package poison must stay free of test dependencies", name, path)
			}
		}
	}
}

// node is a production node type: it embeds a Canary, one word.
type node struct {
	poison.Canary
	next *node
}

func TestCanary(t *testing.T) {
	n := node{next: new(node)}
	var p poison.Poisonable = &n
	if p.Poisoned() {
		t.Fatal("the zero value must be healthy")
	}
	p.Poison()
	if !n.Poisoned() {
		t.Fatal("Poison did not poison")
	}
}

func TestBytes(t *testing.T) {
	for _, n := range []int{0, 3, 8, 13, 64} {
		b := make([]byte, n)
		if poison.InBytes(b) {
			t.Errorf("len %d: zeros are not poison", n)
		}
		poison.Bytes(b)
		if got := poison.InBytes(b); got != (n > 0) {
			t.Errorf("len %d: InBytes after Bytes = %v", n, got)
		}
	}
	b := make([]byte, 24)
	poison.Bytes(b[8:16])
	if !poison.InBytes(b) {
		t.Error("one aligned poisoned word is enough")
	}
	if poison.InBytes([]byte{poison.Byte, 1}) {
		t.Error("a short buffer is poison only if all of it is")
	}
	if poison.Word != 0xDBDBDBDBDBDBDBDB {
		t.Errorf("Word = %#x", poison.Word)
	}
}
