// tlogcheck is an independent cross-check for pennytrail, built only on Go's
// reference implementations golang.org/x/mod/sumdb/note and
// golang.org/x/mod/sumdb/tlog.
//
// Usage:
//
//	tlogcheck verify < vectors.json
//	tlogcheck genkey NAME
//	tlogcheck sign SKEY_TEXT < text
//	tlogcheck tiles PREFIX_URL VERIFIER_KEY [OLD_CHECKPOINT_FILE]
//
// See README.md in this directory for the JSON schema read by verify.
package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const receiptHeader = "c2sp.org/tlog-proof@v1"

type leafItem struct {
	Index     int64    `json:"index"`
	Entry     string   `json:"entry"`
	LeafHash  string   `json:"leaf_hash"`
	Inclusion []string `json:"inclusion"`
	// Optional overrides of the top-level tree_size/root.
	TreeSize *int64  `json:"tree_size,omitempty"`
	Root     *string `json:"root,omitempty"`
}

type consistencyItem struct {
	OldSize int64    `json:"old_size"`
	OldRoot string   `json:"old_root"`
	Proof   []string `json:"proof"`
	// Optional overrides of the top-level tree_size/root (the newer tree).
	TreeSize *int64  `json:"tree_size,omitempty"`
	Root     *string `json:"root,omitempty"`
}

type receiptItem struct {
	Entry     string `json:"entry"`
	TlogProof string `json:"tlog_proof"`
}

type expectFail struct {
	BadInclusion   []leafItem        `json:"bad_inclusion"`
	BadConsistency []consistencyItem `json:"bad_consistency"`
	BadReceipts    []receiptItem     `json:"bad_receipts"`
	BadCheckpoints []string          `json:"bad_checkpoint_notes"`
}

type vectors struct {
	VerifierKey    string            `json:"verifier_key"`
	CheckpointNote string            `json:"checkpoint_note"`
	Origin         string            `json:"origin"`
	TreeSize       int64             `json:"tree_size"`
	Root           string            `json:"root"`
	Leaves         []leafItem        `json:"leaves"`
	Consistency    []consistencyItem `json:"consistency"`
	Receipts       []receiptItem     `json:"receipts"`
	ExpectFail     *expectFail       `json:"expect_fail,omitempty"`
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	switch os.Args[1] {
	case "verify":
		if len(os.Args) != 2 {
			usage()
		}
		os.Exit(cmdVerify(os.Stdin, os.Stdout))
	case "genkey":
		if len(os.Args) != 3 {
			usage()
		}
		skey, vkey, err := note.GenerateKey(rand.Reader, os.Args[2])
		if err != nil {
			fatal("genkey: %v", err)
		}
		fmt.Printf("%s\n%s\n", skey, vkey)
	case "sign":
		if len(os.Args) != 3 {
			usage()
		}
		signer, err := note.NewSigner(os.Args[2])
		if err != nil {
			fatal("sign: bad signer key: %v", err)
		}
		text, err := io.ReadAll(os.Stdin)
		if err != nil {
			fatal("sign: reading stdin: %v", err)
		}
		msg, err := note.Sign(&note.Note{Text: string(text)}, signer)
		if err != nil {
			fatal("sign: %v", err)
		}
		if _, err := os.Stdout.Write(msg); err != nil {
			fatal("sign: %v", err)
		}
	case "tiles":
		os.Exit(cmdTiles(os.Args[2:]))
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage:\n  tlogcheck verify < vectors.json\n  tlogcheck genkey NAME\n  tlogcheck sign SKEY_TEXT < text\n  tlogcheck tiles PREFIX_URL VERIFIER_KEY [OLD_CHECKPOINT_FILE]")
	os.Exit(2)
}

func fatal(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "tlogcheck: "+format+"\n", args...)
	os.Exit(1)
}

// ---------- strict decoders ----------

// decodeB64 decodes standard (RFC 4648 section 4) padded base64 and insists
// the input is canonical (re-encoding gives the same text) and contains no
// CR/LF (which encoding/base64 would otherwise silently skip).
func decodeB64(s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("base64 contains CR or LF")
	}
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("bad base64 %q: %v", s, err)
	}
	if base64.StdEncoding.EncodeToString(b) != s {
		return nil, fmt.Errorf("non-canonical base64 %q", s)
	}
	return b, nil
}

func decodeHash(s string) (tlog.Hash, error) {
	b, err := decodeB64(s)
	if err != nil {
		return tlog.Hash{}, err
	}
	if len(b) != tlog.HashSize {
		return tlog.Hash{}, fmt.Errorf("hash %q is %d bytes, want %d", s, len(b), tlog.HashSize)
	}
	h, err := tlog.ParseHash(s) // the reference parser must agree
	if err != nil {
		return tlog.Hash{}, err
	}
	return h, nil
}

func decodeHashes(list []string) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, 0, len(list))
	for i, s := range list {
		h, err := decodeHash(s)
		if err != nil {
			return nil, fmt.Errorf("proof[%d]: %v", i, err)
		}
		out = append(out, h)
	}
	return out, nil
}

func decodeHexHash(s string) (tlog.Hash, error) {
	if len(s) != 2*tlog.HashSize || strings.ToLower(s) != s {
		return tlog.Hash{}, fmt.Errorf("leaf_hash %q is not 64 lowercase hex chars", s)
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return tlog.Hash{}, fmt.Errorf("leaf_hash %q: %v", s, err)
	}
	var h tlog.Hash
	copy(h[:], b)
	return h, nil
}

// parseDecimal parses an ASCII decimal with no sign and no leading zeroes
// (unless the value is "0"), fitting in int64.
func parseDecimal(s string) (int64, error) {
	if s == "" {
		return 0, errors.New("empty number")
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("number %q has non-digit characters", s)
		}
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, fmt.Errorf("number %q has leading zeroes", s)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("number %q: %v", s, err)
	}
	return n, nil
}

// ---------- checkpoint parsing ----------

type checkpoint struct {
	Origin     string
	Size       int64
	Root       tlog.Hash
	Extensions []string
	Sigs       []note.Signature
}

// openCheckpoint verifies the signed note with the given verifier and parses
// its text per c2sp.org/tlog-checkpoint.
func openCheckpoint(msg []byte, verifiers note.Verifiers) (*checkpoint, *note.Note, error) {
	n, err := note.Open(msg, verifiers)
	if err != nil {
		return nil, nil, fmt.Errorf("note.Open: %v", err)
	}
	if !strings.HasSuffix(n.Text, "\n") {
		return nil, nil, errors.New("note text does not end in newline")
	}
	lines := strings.Split(strings.TrimSuffix(n.Text, "\n"), "\n")
	if len(lines) < 3 {
		return nil, nil, fmt.Errorf("checkpoint text has %d lines, want >= 3", len(lines))
	}
	for i, l := range lines {
		if l == "" {
			return nil, nil, fmt.Errorf("checkpoint text line %d is empty", i+1)
		}
	}
	size, err := parseDecimal(lines[1])
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint tree size: %v", err)
	}
	root, err := decodeHash(lines[2])
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint root hash: %v", err)
	}
	return &checkpoint{Origin: lines[0], Size: size, Root: root, Extensions: lines[3:], Sigs: n.Sigs}, n, nil
}

// ---------- tlog-proof parsing ----------

type tlogProof struct {
	Extra      []byte
	HasExtra   bool
	Index      int64
	Proof      tlog.RecordProof
	Checkpoint []byte // verbatim signed note
}

// parseTlogProof parses c2sp.org/tlog-proof@v1 text strictly:
//
//	c2sp.org/tlog-proof@v1\n
//	[extra <base64>\n]
//	index <decimal, no leading zeroes>\n
//	(<base64 32-byte hash>\n)*
//	\n
//	<checkpoint signed note, verbatim>
func parseTlogProof(text string) (*tlogProof, error) {
	if strings.Contains(text, "\r") {
		return nil, errors.New("tlog-proof contains CR (lines must be separated by LF only)")
	}
	rest := text
	next := func() (string, bool) {
		i := strings.IndexByte(rest, '\n')
		if i < 0 {
			return "", false
		}
		line := rest[:i]
		rest = rest[i+1:]
		return line, true
	}
	line, ok := next()
	if !ok || line != receiptHeader {
		return nil, fmt.Errorf("first line must be %q, got %q", receiptHeader, line)
	}
	p := &tlogProof{}
	line, ok = next()
	if !ok {
		return nil, errors.New("truncated after header")
	}
	if strings.HasPrefix(line, "extra ") {
		extra, err := decodeB64(strings.TrimPrefix(line, "extra "))
		if err != nil {
			return nil, fmt.Errorf("extra line: %v", err)
		}
		p.Extra, p.HasExtra = extra, true
		line, ok = next()
		if !ok {
			return nil, errors.New("truncated after extra line")
		}
	}
	if !strings.HasPrefix(line, "index ") {
		return nil, fmt.Errorf("expected \"index N\" line, got %q", line)
	}
	idx, err := parseDecimal(strings.TrimPrefix(line, "index "))
	if err != nil {
		return nil, fmt.Errorf("index line: %v", err)
	}
	p.Index = idx
	for {
		line, ok = next()
		if !ok {
			return nil, errors.New("missing empty line between inclusion proof and checkpoint")
		}
		if line == "" {
			break
		}
		h, err := decodeHash(line)
		if err != nil {
			return nil, fmt.Errorf("inclusion proof line %d: %v", len(p.Proof)+1, err)
		}
		p.Proof = append(p.Proof, h)
	}
	if rest == "" {
		return nil, errors.New("missing checkpoint after empty line")
	}
	p.Checkpoint = []byte(rest)
	return p, nil
}

// ---------- verify ----------

type runner struct {
	out            *bufio.Writer
	pass, fail     int
	failures       []string
	expectedFails  int
	unexpectedPass int
}

func (r *runner) check(name string, err error) {
	if err == nil {
		r.pass++
		fmt.Fprintf(r.out, "ok   %s\n", name)
	} else {
		r.fail++
		msg := fmt.Sprintf("%s: %v", name, err)
		r.failures = append(r.failures, msg)
		fmt.Fprintf(r.out, "FAIL %s\n", msg)
	}
}

// checkRejected records an expect_fail case: err != nil is the desired outcome.
func (r *runner) checkRejected(name string, err error) {
	if err != nil {
		r.pass++
		r.expectedFails++
		fmt.Fprintf(r.out, "ok   %s (rejected as expected: %v)\n", name, err)
	} else {
		r.fail++
		r.unexpectedPass++
		msg := fmt.Sprintf("%s: tampered input was ACCEPTED by Go, expected rejection", name)
		r.failures = append(r.failures, msg)
		fmt.Fprintf(r.out, "FAIL %s\n", msg)
	}
}

func treeFor(v *vectors, size *int64, root *string) (int64, tlog.Hash, error) {
	n := v.TreeSize
	if size != nil {
		n = *size
	}
	r := v.Root
	if root != nil {
		r = *root
	}
	h, err := decodeHash(r)
	if err != nil {
		return 0, tlog.Hash{}, fmt.Errorf("root: %v", err)
	}
	return n, h, nil
}

func verifyLeaf(v *vectors, l leafItem) error {
	entry, err := decodeB64(l.Entry)
	if err != nil {
		return fmt.Errorf("entry: %v", err)
	}
	want, err := decodeHexHash(l.LeafHash)
	if err != nil {
		return err
	}
	got := tlog.RecordHash(entry)
	if got != want {
		return fmt.Errorf("tlog.RecordHash(entry) = %x, leaf_hash says %x", got[:], want[:])
	}
	proof, err := decodeHashes(l.Inclusion)
	if err != nil {
		return fmt.Errorf("inclusion %v", err)
	}
	size, root, err := treeFor(v, l.TreeSize, l.Root)
	if err != nil {
		return err
	}
	if err := tlog.CheckRecord(proof, size, root, l.Index, got); err != nil {
		return fmt.Errorf("tlog.CheckRecord(len(proof)=%d, size=%d, index=%d): %v", len(proof), size, l.Index, err)
	}
	return nil
}

func verifyConsistency(v *vectors, c consistencyItem) error {
	oldRoot, err := decodeHash(c.OldRoot)
	if err != nil {
		return fmt.Errorf("old_root: %v", err)
	}
	proof, err := decodeHashes(c.Proof)
	if err != nil {
		return err
	}
	size, root, err := treeFor(v, c.TreeSize, c.Root)
	if err != nil {
		return err
	}
	if err := tlog.CheckTree(proof, size, root, c.OldSize, oldRoot); err != nil {
		return fmt.Errorf("tlog.CheckTree(len(proof)=%d, size=%d, old_size=%d): %v", len(proof), size, c.OldSize, err)
	}
	return nil
}

func verifyReceipt(v *vectors, verifiers note.Verifiers, rc receiptItem) (string, error) {
	entry, err := decodeB64(rc.Entry)
	if err != nil {
		return "", fmt.Errorf("entry: %v", err)
	}
	p, err := parseTlogProof(rc.TlogProof)
	if err != nil {
		return "", fmt.Errorf("tlog-proof parse: %v", err)
	}
	cp, _, err := openCheckpoint(p.Checkpoint, verifiers)
	if err != nil {
		return "", fmt.Errorf("embedded checkpoint: %v", err)
	}
	if v.Origin != "" && cp.Origin != v.Origin {
		return "", fmt.Errorf("embedded checkpoint origin %q != origin %q", cp.Origin, v.Origin)
	}
	lh := tlog.RecordHash(entry)
	if err := tlog.CheckRecord(p.Proof, cp.Size, cp.Root, p.Index, lh); err != nil {
		return "", fmt.Errorf("tlog.CheckRecord(len(proof)=%d, size=%d, index=%d): %v", len(p.Proof), cp.Size, p.Index, err)
	}
	info := fmt.Sprintf("index=%d size=%d proof_len=%d", p.Index, cp.Size, len(p.Proof))
	if p.HasExtra {
		info += fmt.Sprintf(" extra_len=%d", len(p.Extra))
	}
	return info, nil
}

func verifyCheckpointNote(v *vectors, verifiers note.Verifiers, msg string) error {
	cp, n, err := openCheckpoint([]byte(msg), verifiers)
	if err != nil {
		return err
	}
	want := v.Origin + "\n" + strconv.FormatInt(v.TreeSize, 10) + "\n" + v.Root + "\n"
	if n.Text != want {
		return fmt.Errorf("note text %q != expected %q", n.Text, want)
	}
	rootWant, err := decodeHash(v.Root)
	if err != nil {
		return fmt.Errorf("root: %v", err)
	}
	if cp.Origin != v.Origin || cp.Size != v.TreeSize || cp.Root != rootWant {
		return errors.New("parsed checkpoint does not match origin/tree_size/root")
	}
	return nil
}

func cmdVerify(in io.Reader, stdout io.Writer) int {
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	data, err := io.ReadAll(in)
	if err != nil {
		fmt.Fprintf(out, "FAIL reading stdin: %v\n", err)
		return 1
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var v vectors
	if err := dec.Decode(&v); err != nil {
		fmt.Fprintf(out, "FAIL parsing vectors JSON: %v\n", err)
		return 1
	}
	r := &runner{out: out}

	verifier, err := note.NewVerifier(v.VerifierKey)
	r.check(fmt.Sprintf("verifier_key note.NewVerifier(%q)", v.VerifierKey), err)
	if err != nil {
		return r.finish()
	}
	verifiers := note.VerifierList(verifier)

	r.check("checkpoint_note note.Open + text == origin\\ntree_size\\nroot\\n",
		verifyCheckpointNote(&v, verifiers, v.CheckpointNote))

	for i, l := range v.Leaves {
		r.check(fmt.Sprintf("leaves[%d] index=%d RecordHash+CheckRecord", i, l.Index), verifyLeaf(&v, l))
	}
	for i, c := range v.Consistency {
		r.check(fmt.Sprintf("consistency[%d] old_size=%d CheckTree", i, c.OldSize), verifyConsistency(&v, c))
	}
	for i, rc := range v.Receipts {
		info, err := verifyReceipt(&v, verifiers, rc)
		name := fmt.Sprintf("receipts[%d] tlog-proof", i)
		if info != "" {
			name += " " + info
		}
		r.check(name, err)
	}
	if ef := v.ExpectFail; ef != nil {
		for i, l := range ef.BadInclusion {
			r.checkRejected(fmt.Sprintf("expect_fail.bad_inclusion[%d] index=%d", i, l.Index), verifyLeaf(&v, l))
		}
		for i, c := range ef.BadConsistency {
			r.checkRejected(fmt.Sprintf("expect_fail.bad_consistency[%d] old_size=%d", i, c.OldSize), verifyConsistency(&v, c))
		}
		for i, rc := range ef.BadReceipts {
			_, err := verifyReceipt(&v, verifiers, rc)
			r.checkRejected(fmt.Sprintf("expect_fail.bad_receipts[%d]", i), err)
		}
		for i, msg := range ef.BadCheckpoints {
			r.checkRejected(fmt.Sprintf("expect_fail.bad_checkpoint_notes[%d]", i), verifyCheckpointNote(&v, verifiers, msg))
		}
	}
	return r.finish()
}

func (r *runner) finish() int {
	if r.expectedFails > 0 {
		fmt.Fprintf(r.out, "expect_fail cases rejected by Go: %d\n", r.expectedFails)
	}
	fmt.Fprintf(r.out, "%d passed, %d failed\n", r.pass, r.fail)
	if r.fail > 0 {
		fmt.Fprintf(r.out, "tlogcheck: VERIFICATION FAILED:\n")
		for _, f := range r.failures {
			fmt.Fprintf(r.out, "  - %s\n", f)
		}
		return 1
	}
	return 0
}
