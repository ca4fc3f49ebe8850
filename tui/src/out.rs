//! Writing to stdout without dying on a closed pipe.
//!
//! `mentor … | head` closes stdout early. `outln!` would panic there, and restoring the
//! default SIGPIPE action would also kill the client when the *daemon's* socket closes under a
//! write (the error must be reported, not a silent death). So SIGPIPE stays ignored, and these
//! macros end the process quietly, with success, when stdout itself is gone — as `cat` does.

use std::io::{self, Write};

/// Writes formatted text to stdout; exits quietly if the reader has gone away.
pub fn write(args: std::fmt::Arguments<'_>) {
    let mut stdout = io::stdout().lock();
    let result = stdout.write_fmt(args).and_then(|()| stdout.flush());
    if let Err(e) = result {
        if e.kind() == io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        // Any other stdout failure (disk full on a redirect…) is worth a word on stderr.
        let l = mentor_shared::i18n::ui();
        let reason = e.to_string();
        let text = mentor_shared::t!(l, "err-io", path = "stdout", reason = reason.as_str());
        eprintln!("mentor: {text}");
        std::process::exit(1);
    }
}

/// `outln!` that ends quietly on a closed pipe.
macro_rules! outln {
    () => { $crate::out::write(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::out::write(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `print!` that ends quietly on a closed pipe.
macro_rules! out {
    ($($arg:tt)*) => { $crate::out::write(format_args!($($arg)*)) };
}
