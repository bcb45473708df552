package process

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/everynode/everynode/internal/agent/runner"
)

// Container logs use the CRI log format, one record per line:
//
//	2026-01-02T15:04:05.000000000Z stdout F hello
//
// The tag is F for a full line and P for a partial one: a line longer than
// maxLineBytes is split into P records followed by an F record.
const (
	timestampFormat = "2006-01-02T15:04:05.000000000Z07:00"
	maxLineBytes    = 16 * 1024
	// followInterval is how often a followed log is checked for new lines.
	followInterval = 50 * time.Millisecond
)

// logWriter appends records from several streams to one file; the mutex
// keeps records whole when stdout and stderr write at the same time.
type logWriter struct {
	mu  sync.Mutex
	out io.Writer
	now func() time.Time
}

// copyStream copies r into the log as records of stream ("stdout" or
// "stderr") until r ends.
func (lw *logWriter) copyStream(stream string, r io.Reader) error {
	br := bufio.NewReaderSize(r, maxLineBytes)
	for {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			tag := "F"
			if errors.Is(err, bufio.ErrBufferFull) {
				tag = "P"
			}
			if werr := lw.write(stream, tag, bytes.TrimSuffix(chunk, []byte("\n"))); werr != nil {
				return werr
			}
		}
		switch {
		case err == nil || errors.Is(err, bufio.ErrBufferFull):
		case errors.Is(err, io.EOF), errors.Is(err, os.ErrClosed):
			return nil
		default:
			return fmt.Errorf("read %s: %w", stream, err)
		}
	}
}

func (lw *logWriter) write(stream, tag string, content []byte) error {
	line := make([]byte, 0, len(timestampFormat)+len(stream)+len(content)+5)
	line = lw.now().UTC().AppendFormat(line, timestampFormat)
	line = append(line, ' ')
	line = append(line, stream...)
	line = append(line, ' ')
	line = append(line, tag...)
	line = append(line, ' ')
	line = append(line, content...)
	line = append(line, '\n')
	lw.mu.Lock()
	defer lw.mu.Unlock()
	_, err := lw.out.Write(line)
	return err
}

// logRecord is one parsed line of a log file.
type logRecord struct {
	Time    time.Time
	Stream  string
	Partial bool
	Content string
}

func parseRecord(line []byte) (logRecord, error) {
	parts := bytes.SplitN(line, []byte(" "), 4)
	if len(parts) != 4 {
		return logRecord{}, fmt.Errorf("malformed log line %q", line)
	}
	ts, err := time.Parse(time.RFC3339Nano, string(parts[0]))
	if err != nil {
		return logRecord{}, fmt.Errorf("malformed log timestamp %q: %w", parts[0], err)
	}
	return logRecord{Time: ts, Stream: string(parts[1]), Partial: string(parts[2]) == "P", Content: string(parts[3])}, nil
}

// parseRecords parses the complete lines of data and returns how many bytes
// they used; a trailing line without its newline is left for later.
func parseRecords(data []byte) ([]logRecord, int) {
	var recs []logRecord
	used := 0
	for {
		i := bytes.IndexByte(data[used:], '\n')
		if i < 0 {
			return recs, used
		}
		if rec, err := parseRecord(data[used : used+i]); err == nil {
			recs = append(recs, rec)
		}
		used += i + 1
	}
}

// selectRecords applies SinceTime and TailLines; a line split into partial
// records counts once for TailLines.
func selectRecords(recs []logRecord, opts runner.LogOptions) []logRecord {
	if opts.SinceTime != nil {
		kept := recs[:0:0]
		for _, r := range recs {
			if !r.Time.Before(*opts.SinceTime) {
				kept = append(kept, r)
			}
		}
		recs = kept
	}
	if opts.TailLines == nil {
		return recs
	}
	want := *opts.TailLines
	start := len(recs)
	for lines := int64(0); start > 0 && lines < want; {
		start--
		// Walk back over the partial records that precede this line's
		// final record.
		for start > 0 && recs[start-1].Partial {
			start--
		}
		lines++
	}
	return recs[start:]
}

// errLimitReached ends a copy once LimitBytes have been written.
var errLimitReached = errors.New("log byte limit reached")

// logOutput writes records as kubectl logs shows them.
type logOutput struct {
	w          io.Writer
	timestamps bool
	since      *time.Time
	remaining  int64 // bytes left before LimitBytes; <0 means no limit
}

func newLogOutput(w io.Writer, opts runner.LogOptions) *logOutput {
	out := &logOutput{w: w, timestamps: opts.Timestamps, since: opts.SinceTime, remaining: -1}
	if opts.LimitBytes != nil {
		out.remaining = *opts.LimitBytes
	}
	return out
}

func (o *logOutput) write(recs []logRecord) error {
	var buf []byte
	for _, r := range recs {
		if o.since != nil && r.Time.Before(*o.since) {
			continue
		}
		if o.timestamps {
			buf = r.Time.UTC().AppendFormat(buf, timestampFormat)
			buf = append(buf, ' ')
		}
		buf = append(buf, r.Content...)
		if !r.Partial {
			buf = append(buf, '\n')
		}
	}
	if len(buf) == 0 {
		return nil
	}
	if o.remaining >= 0 && int64(len(buf)) >= o.remaining {
		buf = buf[:o.remaining]
		o.remaining = 0
		if _, err := o.w.Write(buf); err != nil {
			return err
		}
		return errLimitReached
	}
	if o.remaining >= 0 {
		o.remaining -= int64(len(buf))
	}
	_, err := o.w.Write(buf)
	return err
}

// followLog writes the log at path, then, with opts.Follow, keeps writing
// new records until ctx ends or exited reports that the container has
// exited (and its last records have been written).
func followLog(ctx context.Context, path string, opts runner.LogOptions, exited func() bool, w io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	defer f.Close()
	out := newLogOutput(w, opts)

	data, err := io.ReadAll(f)
	if err != nil {
		return fmt.Errorf("read log: %w", err)
	}
	recs, used := parseRecords(data)
	pending := data[used:]
	if err := out.write(selectRecords(recs, opts)); err != nil || !opts.Follow {
		return ignoreLimit(err)
	}

	ticker := time.NewTicker(followInterval)
	defer ticker.Stop()
	for {
		// Ask before reading: the shim records the exit only after the
		// last output is in the file, so a read after seeing the exit
		// gets everything.
		done := exited()
		more, err := io.ReadAll(f)
		if err != nil {
			return fmt.Errorf("read log: %w", err)
		}
		pending = append(pending, more...)
		recs, used := parseRecords(pending)
		pending = pending[used:]
		if err := out.write(recs); err != nil {
			return ignoreLimit(err)
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

func ignoreLimit(err error) error {
	if errors.Is(err, errLimitReached) {
		return nil
	}
	return err
}
