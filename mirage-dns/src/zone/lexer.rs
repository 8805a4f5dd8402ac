//! Splits master-file text into entries of tokens (RFC 1035 §5.1):
//! comments, parentheses across lines, quoted strings and escapes.

use super::error::ErrorKind;

/// One token, its escapes still in it (fields decode them as they need).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The text, without the surrounding quotes.
    pub text: String,
    /// Whether any part of it was quoted (a quoted token is never a directive or `\#`).
    pub quoted: bool,
}

/// One logical entry: a line, or several joined by parentheses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// 1-based line the entry starts on.
    pub line: usize,
    /// Whether the line starts with blank space (the owner is omitted).
    pub blank_owner: bool,
    /// The tokens.
    pub tokens: Vec<Token>,
}

/// Splits `text` into entries. Errors carry the line they were found on.
pub fn entries(text: &str) -> Result<Vec<Entry>, (usize, ErrorKind)> {
    let mut out = Vec::new();
    let mut line = 1;
    let mut depth = 0usize;
    let mut entry = Entry {
        line,
        blank_owner: false,
        tokens: Vec::new(),
    };
    let mut at_line_start = true;
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            '\n' => {
                chars.next();
                line += 1;
                if depth == 0 {
                    if !entry.tokens.is_empty() {
                        out.push(entry);
                    }
                    entry = Entry {
                        line,
                        blank_owner: false,
                        tokens: Vec::new(),
                    };
                    at_line_start = true;
                }
                continue;
            }
            ' ' | '\t' | '\r' => {
                if at_line_start && depth == 0 && entry.tokens.is_empty() {
                    entry.blank_owner = true;
                }
                chars.next();
            }
            ';' => {
                while chars.peek().is_some_and(|&c| c != '\n') {
                    chars.next();
                }
            }
            '(' => {
                depth += 1;
                chars.next();
            }
            ')' => {
                depth = depth
                    .checked_sub(1)
                    .ok_or((line, ErrorKind::UnbalancedParens))?;
                chars.next();
            }
            _ => {
                let mut token = Token {
                    text: String::new(),
                    quoted: false,
                };
                while let Some(&c) = chars.peek() {
                    match c {
                        ' ' | '\t' | '\r' | '\n' | ';' | '(' | ')' => break,
                        '\\' => {
                            chars.next();
                            token.text.push('\\');
                            match chars.next() {
                                Some('\n') | None => {
                                    return Err((
                                        line,
                                        ErrorKind::Expected {
                                            expected: "a character after '\\'",
                                            found: String::new(),
                                        },
                                    ));
                                }
                                Some(e) => token.text.push(e),
                            }
                        }
                        '"' => {
                            chars.next();
                            token.quoted = true;
                            loop {
                                match chars.next() {
                                    None | Some('\n') => {
                                        return Err((line, ErrorKind::UnterminatedString));
                                    }
                                    Some('"') => break,
                                    Some('\\') => {
                                        token.text.push('\\');
                                        match chars.next() {
                                            None | Some('\n') => {
                                                return Err((line, ErrorKind::UnterminatedString));
                                            }
                                            Some(e) => token.text.push(e),
                                        }
                                    }
                                    Some(c) => token.text.push(c),
                                }
                            }
                        }
                        _ => {
                            token.text.push(c);
                            chars.next();
                        }
                    }
                }
                entry.tokens.push(token);
            }
        }
        at_line_start = false;
    }
    if depth != 0 {
        return Err((line, ErrorKind::UnbalancedParens));
    }
    if !entry.tokens.is_empty() {
        out.push(entry);
    }
    Ok(out)
}

/// Decodes the escapes of a token (`\DDD`, `\X`) into bytes.
pub fn unescape(text: &str) -> Result<Vec<u8>, ErrorKind> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            let (byte, used) =
                crate::wire::name::unescape(&b[i + 1..]).ok_or_else(|| ErrorKind::Expected {
                    expected: "an escape \\X or \\DDD (DDD at most 255)",
                    found: text.into(),
                })?;
            out.push(byte);
            i += 1 + used;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod test {
    use super::*;

    fn texts(e: &Entry) -> Vec<&str> {
        e.tokens.iter().map(|t| t.text.as_str()).collect()
    }

    #[test]
    fn test_entries() {
        let z = "$ORIGIN example.\n@ IN SOA ns hostmaster ( 1 ; serial\n 2 3 4 5 )\n\twww A 192.0.2.1 ; c\n  TXT \"a b\\\" ; c\" x\\ y\n";
        let e = entries(z).unwrap();
        assert_eq!(e.len(), 4);
        assert_eq!(
            texts(&e[1]),
            [
                "@",
                "IN",
                "SOA",
                "ns",
                "hostmaster",
                "1",
                "2",
                "3",
                "4",
                "5"
            ]
        );
        assert_eq!(e[1].line, 2);
        assert!(e[2].blank_owner && !e[1].blank_owner);
        assert_eq!(texts(&e[3]), ["TXT", "a b\\\" ; c", "x\\ y"]);
        assert!(e[3].tokens[1].quoted);
        assert_eq!(
            entries("a ( b\n").unwrap_err().1,
            ErrorKind::UnbalancedParens
        );
        assert_eq!(
            entries("a \"b\n").unwrap_err(),
            (1, ErrorKind::UnterminatedString)
        );
        assert_eq!(unescape("a\\032b\\\\").unwrap(), b"a b\\");
    }
}
