//! [`MemConsole`]: a console whose output is captured and whose input is scripted.

use alloc::collections::VecDeque;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::future::poll_fn;
use core::task::{Poll, Waker};

use crate::console::{Console, ConsoleError};

#[derive(Debug, Default)]
struct State {
    output: Vec<String>,
    input: VecDeque<String>,
    input_closed: bool,
    reader: Option<Waker>,
}

/// A console for tests: lines written are kept for inspection, lines read
/// come from [`MemConsole::push_input`]. Clones share the same console.
#[derive(Debug, Clone, Default)]
pub struct MemConsole {
    state: Rc<RefCell<State>>,
}

impl MemConsole {
    /// An empty console with open input.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every line written so far.
    pub fn output(&self) -> Vec<String> {
        self.state.borrow().output.clone()
    }

    /// Queues a line for [`Console::read_line`].
    pub fn push_input(&self, line: impl Into<String>) {
        let mut s = self.state.borrow_mut();
        s.input.push_back(line.into());
        if let Some(w) = s.reader.take() {
            w.wake();
        }
    }

    /// Ends the input: once the queue drains, reads return `None`.
    pub fn close_input(&self) {
        let mut s = self.state.borrow_mut();
        s.input_closed = true;
        if let Some(w) = s.reader.take() {
            w.wake();
        }
    }
}

impl Console for MemConsole {
    async fn write_line(&self, line: &str) -> Result<(), ConsoleError> {
        self.state.borrow_mut().output.push(String::from(line));
        Ok(())
    }

    async fn read_line(&self) -> Result<Option<String>, ConsoleError> {
        poll_fn(|cx| {
            let mut s = self.state.borrow_mut();
            if let Some(line) = s.input.pop_front() {
                Poll::Ready(Ok(Some(line)))
            } else if s.input_closed {
                Poll::Ready(Ok(None))
            } else {
                s.reader = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }
}
