package dbt

import (
	"io/fs"
	"path"
	"runtime"
	"sync"
	"sync/atomic"
)

// eachParallel calls fn(0..n-1) on up to GOMAXPROCS goroutines; fn must
// write only to state owned by its index. Parsing files is independent work,
// so a large project loads in a fraction of the serial time.
func eachParallel(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(i)
			}
		})
	}
	wg.Wait()
}

// parsedSQL is one model file, read and parsed.
type parsedSQL struct {
	sql     string
	sum     string
	facts   sqlFacts
	errs    []lineError
	readErr error
}

// parseSQLFiles reads and parses model files in parallel, keyed by rel.
func (l *loader) parseSQLFiles(files []sqlFile) map[string]*parsedSQL {
	out := make([]parsedSQL, len(files))
	eachParallel(len(files), func(i int) {
		data, err := fs.ReadFile(l.fsys, l.repoPath(files[i].rel))
		if err != nil {
			out[i].readErr = err
			return
		}
		out[i].sql, out[i].sum = string(data), fileChecksum(data)
		if path.Ext(files[i].rel) == ".py" {
			out[i].facts, out[i].errs = parsePython(out[i].sql)
		} else {
			out[i].facts, out[i].errs = parseSQLWith(out[i].sql, l.pf.Vars)
		}
	})
	byRel := make(map[string]*parsedSQL, len(files))
	for i := range files {
		byRel[files[i].rel] = &out[i]
	}
	return byRel
}

// parsedYAML is one schema file, read and parsed.
type parsedYAML struct {
	sf      schemaFile
	errs    []lineError
	readErr error
}

// parseYAMLFiles reads and parses schema files in parallel, in input order.
func (l *loader) parseYAMLFiles(rels []string) []parsedYAML {
	out := make([]parsedYAML, len(rels))
	eachParallel(len(rels), func(i int) {
		data, err := fs.ReadFile(l.fsys, l.repoPath(rels[i]))
		if err != nil {
			out[i].readErr = err
			return
		}
		out[i].sf, out[i].errs = parseSchemaYAML(data)
	})
	return out
}
