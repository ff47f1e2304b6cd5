//! Physical line numbers of a file read through a CSV parser. The parser counts records,
//! not lines (a quoted cell may hold line breaks; blank lines and the LF of a CRLF are
//! folded into where it says the next record starts), so the lines are counted here as
//! the bytes pass: where each line that holds something starts, and its number. A
//! record's line is that of the first such line at or after the byte the parser says it
//! starts at; an XML parser's position is on the line that holds it. Only lines not yet
//! behind the parser are kept: memory stays flat.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, Read};

/// A reader that notes where each line with content starts.
pub struct Lines<R> {
    inner: R,
    read: u64,
    line: u64,
    at_line_start: bool,
    /// (byte offset, line number) of each line that starts with something other than a
    /// line break, not yet behind a record asked about.
    starts: RefCell<VecDeque<(u64, u64)>>,
}

impl<R> Lines<R> {
    pub fn new(inner: R) -> Lines<R> {
        Lines {
            inner,
            read: 0,
            line: 1,
            at_line_start: true,
            starts: RefCell::new(VecDeque::new()),
        }
    }

    /// The line (from 1) holding the byte at `offset`, for a parser that reports where it
    /// is (XML); offsets asked about must not go backwards, and one reader answers either
    /// this or [`Lines::line_at`], not both.
    pub fn line_of(&self, offset: u64) -> u64 {
        let mut starts = self.starts.borrow_mut();
        while starts.get(1).is_some_and(|(at, _)| *at <= offset) {
            starts.pop_front();
        }
        starts.front().map_or(self.line, |(_, line)| *line)
    }

    /// The physical line (from 1) of a record the parser says starts at byte `offset`;
    /// offsets asked about must not go backwards.
    pub fn line_at(&self, offset: u64) -> u64 {
        let mut starts = self.starts.borrow_mut();
        while starts.front().is_some_and(|(at, _)| *at < offset) {
            starts.pop_front();
        }
        starts.front().map_or(self.line, |(_, line)| *line)
    }
}

impl<R: Read> Read for Lines<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let starts = self.starts.get_mut();
        for (i, byte) in buf[..n].iter().enumerate() {
            if self.at_line_start && *byte != b'\n' && *byte != b'\r' {
                starts.push_back((self.read + i as u64, self.line));
                self.at_line_start = false;
            }
            if *byte == b'\n' {
                self.line += 1;
                self.at_line_start = true;
            }
        }
        self.read += n as u64;
        Ok(n)
    }
}
