package main

// tlogcheck tiles: fetch a c2sp.org/tlog-tiles log over HTTP and check it with
// golang.org/x/mod/sumdb/tlog's TileHashReader, TreeHash, ProveRecord,
// CheckRecord, ProveTree and CheckTree, plus a recomputation of the root and
// of every upper-level tile hash from the entries (see README.md).

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const (
	tileHeight     = 8               // tlog-tiles tiles are always 2^8 hashes wide
	tileWidth      = 1 << tileHeight // hashes in a full tile / entries in a full bundle
	httpTimeout    = 30 * time.Second
	maxCheckpoint  = 1 << 20
	maxBundleBytes = tileWidth * (2 + 0xFFFF) // 256 entries of at most 65535 bytes
	bundleWorkers  = 4                        // bounded concurrency for entry bundles
)

// tilePathN encodes a tile index as zero-padded 3-digit path elements, all
// but the last prefixed with "x": 1234067 -> x001/x234/067, 5 -> 005.
func tilePathN(n int64) string {
	s := fmt.Sprintf("%03d", n%1000)
	for n >= 1000 {
		n /= 1000
		s = fmt.Sprintf("x%03d/%s", n%1000, s)
	}
	return s
}

// tileSuffix is "<N>" for a full tile/bundle and "<N>.p/<W>" for a partial one.
func tileSuffix(n int64, w int) string {
	if w == tileWidth {
		return tilePathN(n)
	}
	return fmt.Sprintf("%s.p/%d", tilePathN(n), w)
}

// tileURL maps a Go tlog.Tile (H must be 8) to its C2SP tlog-tiles URL.
// Go's Tile.Path() is the sumdb layout (tile/H/L/...) and does not fit.
func tileURL(prefix string, t tlog.Tile) (string, error) {
	if t.H != tileHeight || t.L < 0 || t.L > 63 || t.N < 0 || t.W < 1 || t.W > tileWidth {
		return "", fmt.Errorf("tile %+v is not a valid tlog-tiles hash tile", t)
	}
	return fmt.Sprintf("%s/tile/%d/%s", prefix, t.L, tileSuffix(t.N, t.W)), nil
}

func bundleURL(prefix string, n int64, w int) string {
	return fmt.Sprintf("%s/tile/entries/%s", prefix, tileSuffix(n, w))
}

// httpFetcher performs GETs and implements tlog.TileReader.
type httpFetcher struct {
	prefix string
	client *http.Client
	trace  bool

	mu           sync.Mutex
	tileRequests int
	// Tiles other than full level-0 tiles are kept (memory ~ size/8 bytes)
	// so that the tree-hash tiles and upper levels are fetched once. Caching
	// data before authentication is safe: tileHashReader re-authenticates
	// every tile it uses against the tree hash on every ReadHashes call.
	cache map[tlog.Tile]*tileEntry
}

type tileEntry struct {
	done chan struct{}
	data []byte
	err  error
}

func (f *httpFetcher) get(u string, maxLen int) ([]byte, error) {
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %v", u, err)
	}
	req.Header.Set("User-Agent", "tlogcheck")
	// No Accept-Encoding: net/http then asks for gzip and decodes it itself.
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		if f.trace {
			fmt.Fprintf(os.Stderr, "tlogcheck: GET %s -> %s\n", u, resp.Status)
		}
		return nil, fmt.Errorf("GET %s: HTTP status %s", u, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(maxLen)+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: reading body: %v", u, err)
	}
	if f.trace {
		fmt.Fprintf(os.Stderr, "tlogcheck: GET %s -> %s, %d bytes\n", u, resp.Status, len(body))
	}
	if len(body) > maxLen {
		return nil, fmt.Errorf("GET %s: body longer than %d bytes", u, maxLen)
	}
	return body, nil
}

func (f *httpFetcher) Height() int { return tileHeight }

func (f *httpFetcher) fetchTile(t tlog.Tile) ([]byte, error) {
	u, err := tileURL(f.prefix, t)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.tileRequests++
	f.mu.Unlock()
	want := t.W * tlog.HashSize
	data, err := f.get(u, want)
	if err != nil {
		return nil, err
	}
	if len(data) != want {
		return nil, fmt.Errorf("GET %s: body is %d bytes, want %d (%d hashes)", u, len(data), want, t.W)
	}
	return data, nil
}

func (f *httpFetcher) readTile(t tlog.Tile) ([]byte, error) {
	if t.L == 0 && t.W == tileWidth {
		return f.fetchTile(t)
	}
	f.mu.Lock()
	e, ok := f.cache[t]
	if !ok {
		e = &tileEntry{done: make(chan struct{})}
		f.cache[t] = e
	}
	f.mu.Unlock()
	if !ok {
		e.data, e.err = f.fetchTile(t)
		close(e.done)
	}
	<-e.done
	return e.data, e.err
}

// ReadTiles implements tlog.TileReader.
func (f *httpFetcher) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		data, err := f.readTile(t)
		if err != nil {
			return nil, err
		}
		out[i] = data
	}
	return out, nil
}

// SaveTiles implements tlog.TileReader; nothing is persisted.
func (f *httpFetcher) SaveTiles(tiles []tlog.Tile, data [][]byte) {}

// decodeBundle splits an entry bundle (big-endian uint16 length-prefixed
// entries) into exactly want entries.
func decodeBundle(data []byte, want int) ([][]byte, error) {
	entries := make([][]byte, 0, want)
	for len(data) > 0 {
		if len(entries) == want {
			return nil, fmt.Errorf("%d trailing bytes after %d entries", len(data), want)
		}
		if len(data) < 2 {
			return nil, fmt.Errorf("truncated length prefix of entry %d", len(entries))
		}
		n := int(binary.BigEndian.Uint16(data))
		data = data[2:]
		if len(data) < n {
			return nil, fmt.Errorf("entry %d: length %d but only %d bytes left", len(entries), n, len(data))
		}
		entries = append(entries, data[:n:n])
		data = data[n:]
	}
	if len(entries) != want {
		return nil, fmt.Errorf("bundle has %d entries, want %d", len(entries), want)
	}
	return entries, nil
}

// sampleIndexes returns sorted, deduplicated record indexes in [0, size).
func sampleIndexes(size int64) []int64 {
	cand := []int64{0, 1, size / 3, size / 2, 2 * size / 3, size - 2, size - 1,
		255, 256, 257, 65535, 65536, (size - 1) &^ (tileWidth - 1)}
	seen := map[int64]bool{}
	var out []int64
	for _, i := range cand {
		if i >= 0 && i < size && !seen[i] {
			seen[i] = true
			out = append(out, i)
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a] < out[b] })
	return out
}

// emptyRoot is the RFC 6962 hash of the empty tree, SHA-256(""). (Go's
// tlog.TreeHash(0, r) returns the all-zero Hash{} instead.)
func emptyRoot() tlog.Hash { return tlog.Hash(sha256.Sum256(nil)) }

type tilesResult struct {
	cp           *checkpoint
	bundles      int64
	entries      int64
	tileRequests int
}

func cmdTiles(args []string) int {
	if len(args) != 2 && len(args) != 3 {
		usage()
	}
	res, err := runTiles(args[0], args[1], args[2:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL tiles: %v\n", err)
		return 1
	}
	fmt.Printf("ok tiles origin=%s size=%d root=%s bundles=%d entries=%d tile_requests=%d\n",
		res.cp.Origin, res.cp.Size, base64.StdEncoding.EncodeToString(res.cp.Root[:]),
		res.bundles, res.entries, res.tileRequests)
	return 0
}

func runTiles(prefix, vkey string, oldFile []string) (*tilesResult, error) {
	prefix = strings.TrimRight(prefix, "/")
	pu, err := url.Parse(prefix)
	if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
		return nil, fmt.Errorf("PREFIX_URL %q is not an http(s) URL", prefix)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("bad verifier key: %v", err)
	}
	verifiers := note.VerifierList(verifier)
	f := &httpFetcher{
		prefix: prefix,
		client: &http.Client{Timeout: httpTimeout},
		trace:  os.Getenv("TLOGCHECK_TRACE") != "",
		cache:  make(map[tlog.Tile]*tileEntry),
	}

	// 1. Checkpoint.
	cpURL := prefix + "/checkpoint"
	msg, err := f.get(cpURL, maxCheckpoint)
	if err != nil {
		return nil, err
	}
	cp, _, err := openCheckpoint(msg, verifiers)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", cpURL, err)
	}
	size, root := cp.Size, cp.Root

	var old *checkpoint
	if len(oldFile) == 1 {
		oldMsg, err := os.ReadFile(oldFile[0])
		if err != nil {
			return nil, fmt.Errorf("old checkpoint: %v", err)
		}
		old, _, err = openCheckpoint(oldMsg, verifiers)
		if err != nil {
			return nil, fmt.Errorf("old checkpoint %s: %v", oldFile[0], err)
		}
		if old.Origin != cp.Origin {
			return nil, fmt.Errorf("old checkpoint origin %q != current origin %q", old.Origin, cp.Origin)
		}
		if old.Size > size {
			return nil, fmt.Errorf("old checkpoint size %d > current size %d", old.Size, size)
		}
	}

	res := &tilesResult{cp: cp}
	if size == 0 {
		if root != emptyRoot() {
			return nil, fmt.Errorf("size 0 but root %s != SHA-256(\"\") (RFC 6962 empty tree)", root)
		}
		if old != nil && old.Root != root {
			return nil, fmt.Errorf("old checkpoint size 0 root %s != empty root", old.Root)
		}
		return res, nil
	}

	// 2. Tree hash through tiles.
	hr := tlog.TileHashReader(tlog.Tree{N: size, Hash: root}, f)
	th, err := tlog.TreeHash(size, hr)
	if err != nil {
		return nil, fmt.Errorf("tlog.TreeHash(%d) via tiles: %v", size, err)
	}
	if th != root {
		return nil, fmt.Errorf("tlog.TreeHash(%d) via tiles = %s, checkpoint root %s", size, th, root)
	}

	// 3. Entry bundles: every entry's RecordHash must equal its level-0 tile
	// hash. The bundles also give each full bundle's subtree hash (level 8)
	// and the leaf hashes of the partial bundle, for step 3b.
	samples := sampleIndexes(size)
	nBundles := (size + tileWidth - 1) / tileWidth
	st := &bundleState{
		sampleSet:  make(map[int64]bool, len(samples)), // read-only from here on
		leafHashes: make(map[int64]tlog.Hash, len(samples)),
		level8:     make([]tlog.Hash, size/tileWidth),
	}
	for _, i := range samples {
		st.sampleSet[i] = true
	}
	var (
		firstErr error
		wg       sync.WaitGroup
	)
	jobs := make(chan int64)
	stop := make(chan struct{})
	fail := func(err error) {
		st.mu.Lock()
		if firstErr == nil {
			firstErr = err
			close(stop)
		}
		st.mu.Unlock()
	}
	for w := 0; w < bundleWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range jobs {
				if err := checkBundle(f, hr, size, n, st); err != nil {
					fail(err)
				}
			}
		}()
	}
feed:
	for n := int64(0); n < nBundles; n++ {
		select {
		case jobs <- n:
		case <-stop:
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if st.entries != size {
		return nil, fmt.Errorf("bundles held %d entries, want %d", st.entries, size)
	}
	res.bundles, res.entries = nBundles, st.entries

	// 3b. Independent of TileHashReader's own authentication (which, in
	// x/mod v0.7.0, skips some tiles, see README): recompute the root from
	// the entries with tlog.TreeHash, and check every hash of every tile at
	// level >= 1 against the subtree hash computed from the entries.
	ownRoot, err := tlog.TreeHash(size, st.ownHashes(size))
	if err != nil {
		return nil, fmt.Errorf("tlog.TreeHash(%d) from entries: %v", size, err)
	}
	if ownRoot != root {
		return nil, fmt.Errorf("root computed from the entries %s != checkpoint root %s", ownRoot, root)
	}
	if err := checkUpperTiles(hr, st.level8); err != nil {
		return nil, err
	}

	// 4. Inclusion proofs for a sample of records.
	for _, i := range samples {
		p, err := tlog.ProveRecord(size, i, hr)
		if err != nil {
			return nil, fmt.Errorf("tlog.ProveRecord(%d, %d): %v", size, i, err)
		}
		if err := tlog.CheckRecord(p, size, root, i, st.leafHashes[i]); err != nil {
			return nil, fmt.Errorf("tlog.CheckRecord(size=%d, index=%d, len(proof)=%d): %v", size, i, len(p), err)
		}
	}

	// 5. Consistency with an older checkpoint.
	if old != nil {
		if old.Size == 0 {
			if old.Root != emptyRoot() {
				return nil, fmt.Errorf("old checkpoint size 0 root %s != empty root", old.Root)
			}
		} else {
			p, err := tlog.ProveTree(size, old.Size, hr)
			if err != nil {
				return nil, fmt.Errorf("tlog.ProveTree(%d, %d): %v", size, old.Size, err)
			}
			if err := tlog.CheckTree(p, size, root, old.Size, old.Root); err != nil {
				return nil, fmt.Errorf("tlog.CheckTree(size=%d, old_size=%d, len(proof)=%d): %v", size, old.Size, len(p), err)
			}
		}
	}

	f.mu.Lock()
	res.tileRequests = f.tileRequests
	f.mu.Unlock()
	return res, nil
}

type bundleState struct {
	sampleSet map[int64]bool // read-only while workers run

	mu         sync.Mutex
	entries    int64
	leafHashes map[int64]tlog.Hash // leaf hashes of the sampled records
	level8     []tlog.Hash         // level8[n] = subtree hash of full bundle n
	partial    []tlog.Hash         // leaf hashes of the partial bundle, if any
}

// perfectHash is the Merkle tree hash of 2^k hashes.
func perfectHash(hs []tlog.Hash) tlog.Hash {
	if len(hs) == 1 {
		return hs[0]
	}
	return tlog.NodeHash(perfectHash(hs[:len(hs)/2]), perfectHash(hs[len(hs)/2:]))
}

// ownHashes serves the stored hashes tlog.TreeHash(size) needs, computed
// from the entries only (never from tiles).
func (st *bundleState) ownHashes(size int64) tlog.HashReader {
	base := (size / tileWidth) * tileWidth // first record of the partial bundle
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			level, n := tlog.SplitStoredHashIndex(x)
			if level >= tileHeight {
				lo := n << uint(level-tileHeight)
				hi := (n + 1) << uint(level-tileHeight)
				if hi > int64(len(st.level8)) {
					return nil, fmt.Errorf("stored hash (level %d, %d) is beyond the full bundles", level, n)
				}
				out[i] = perfectHash(st.level8[lo:hi])
				continue
			}
			lo := n<<uint(level) - base
			hi := (n+1)<<uint(level) - base
			if lo < 0 || hi > int64(len(st.partial)) {
				return nil, fmt.Errorf("stored hash (level %d, %d) is not in the partial bundle", level, n)
			}
			out[i] = perfectHash(st.partial[lo:hi])
		}
		return out, nil
	})
}

// checkUpperTiles reads, through hr, every hash of every tile at level >= 1
// (the level-8L stored hashes of all complete 256^L-record subtrees) and
// compares it with the subtree hash computed from the entries.
func checkUpperTiles(hr tlog.HashReader, level8 []tlog.Hash) error {
	cur := level8
	for L := 1; len(cur) > 0; L++ {
		for start := 0; start < len(cur); start += tileWidth {
			end := start + tileWidth
			if end > len(cur) {
				end = len(cur)
			}
			indexes := make([]int64, end-start)
			for i := range indexes {
				indexes[i] = tlog.StoredHashIndex(L*tileHeight, int64(start+i))
			}
			got, err := hr.ReadHashes(indexes)
			if err != nil {
				return fmt.Errorf("level-%d tile %d via tiles: %v", L, start/tileWidth, err)
			}
			for i, h := range got {
				if h != cur[start+i] {
					return fmt.Errorf("level-%d tile %d hash %d = %s, but the entries give %s", L, start/tileWidth, i, h, cur[start+i])
				}
			}
		}
		next := make([]tlog.Hash, len(cur)/tileWidth)
		for j := range next {
			next[j] = perfectHash(cur[j*tileWidth : (j+1)*tileWidth])
		}
		cur = next
	}
	return nil
}

// checkBundle fetches and decodes entry bundle n and compares each entry's
// RecordHash with the level-0 hash read through hr, and records what
// runTiles needs later in st.
func checkBundle(f *httpFetcher, hr tlog.HashReader, size, n int64, st *bundleState) error {
	start := n * tileWidth
	w := tileWidth
	if size-start < tileWidth {
		w = int(size - start)
	}
	u := bundleURL(f.prefix, n, w)
	data, err := f.get(u, maxBundleBytes)
	if err != nil {
		return err
	}
	entries, err := decodeBundle(data, w)
	if err != nil {
		return fmt.Errorf("%s: %v", u, err)
	}
	indexes := make([]int64, w)
	for i := range indexes {
		indexes[i] = tlog.StoredHashIndex(0, start+int64(i))
	}
	hashes, err := hr.ReadHashes(indexes)
	if err != nil {
		return fmt.Errorf("level-0 hashes for records %d..%d via tiles: %v", start, start+int64(w)-1, err)
	}
	if len(hashes) != w {
		return errors.New("ReadHashes returned wrong number of hashes")
	}
	leaves := make([]tlog.Hash, w)
	for i, e := range entries {
		leaves[i] = tlog.RecordHash(e)
		if leaves[i] != hashes[i] {
			return fmt.Errorf("%s: entry %d (record %d): RecordHash %s != level-0 tile hash %s",
				u, i, start+int64(i), leaves[i], hashes[i])
		}
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.entries += int64(w)
	for i, lh := range leaves {
		if st.sampleSet[start+int64(i)] {
			st.leafHashes[start+int64(i)] = lh
		}
	}
	if w == tileWidth {
		st.level8[n] = perfectHash(leaves)
	} else {
		st.partial = leaves
	}
	return nil
}
