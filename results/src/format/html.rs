//! The report as one self-contained HTML page (`report --out` writes it as
//! `index.html`): per space the Markdown report's table and caption as an
//! HTML table, then that space's figures as inline SVG. No scripts, no
//! external style sheets, fonts or images: it opens offline and can be
//! mailed or attached as it is.
//!
//! The tables are the Markdown rendering converted line by line (headings,
//! pipe tables, paragraphs, lists), so the page and `table.md` can never
//! disagree.

use super::markdown;
use crate::summary::Summary;
use std::fmt::Write;

const STYLE: &str =
    "body{font-family:sans-serif;margin:2em auto;max-width:1200px;padding:0 1em;color:#111}\
table{border-collapse:collapse;font-size:13px;margin:1em 0}\
th,td{border-bottom:1px solid #ccc;padding:4px 8px}td{white-space:nowrap}\
th{background:#f3f3f3}td.r,th.r{text-align:right}\
p.caption{font-size:13px;color:#333;max-width:70em}\
figure{margin:1em 0}figure svg{max-width:100%;height:auto;border:1px solid #eee}\
figcaption{font-size:12px;color:#555}.scroll{overflow-x:auto}";

/// One figure of the page.
#[derive(Clone, Debug)]
pub struct Figure {
    /// The space it shows, as the tables name it.
    pub space: String,
    /// Its file name (shown under it).
    pub name: String,
    /// The SVG document.
    pub svg: String,
}

/// `s` with `&`, `<`, `>` and `"` escaped for HTML text and attributes.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Markdown text as HTML: escaped, with `code` spans.
fn inline(s: &str) -> String {
    let parts: Vec<&str> = s.split('`').collect();
    if parts.len().is_multiple_of(2) {
        // An unpaired backtick: show the text as it is.
        return escape(s);
    }
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if i % 2 == 1 {
                format!("<code>{}</code>", escape(p))
            } else {
                escape(p)
            }
        })
        .collect()
}

fn cells(line: &str) -> Vec<&str> {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    inner.split('|').map(str::trim).collect()
}

/// Appends one pipe table (`rows`: its Markdown lines) as HTML.
fn table(out: &mut String, rows: &[&str]) {
    let right: Vec<bool> = rows
        .get(1)
        .map(|sep| cells(sep).iter().map(|c| c.ends_with(':')).collect())
        .unwrap_or_default();
    let class = |i: usize| {
        if right.get(i) == Some(&true) {
            " class=\"r\""
        } else {
            ""
        }
    };
    out.push_str("<div class=\"scroll\"><table>\n");
    for (k, row) in rows.iter().enumerate() {
        if k == 1 {
            continue;
        }
        let tag = if k == 0 { "th" } else { "td" };
        out.push_str("<tr>");
        for (i, c) in cells(row).iter().enumerate() {
            let _ = write!(out, "<{tag}{}>{}</{tag}>", class(i), inline(c));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table></div>\n");
}

/// The figures of the space named `space`.
fn figures(out: &mut String, space: &str, figures: &[Figure]) {
    for Figure { name, svg, .. } in figures.iter().filter(|f| f.space == space) {
        // plotters writes a bare `<svg ...>` element: it inlines as is.
        let svg = svg.trim_start_matches(|c: char| c != '<');
        let _ = writeln!(
            out,
            "<figure>{svg}<figcaption>{}</figcaption></figure>",
            escape(name)
        );
    }
}

/// The Markdown subset the Markdown report uses, as HTML.
fn convert(out: &mut String, md: &str) {
    let lines: Vec<&str> = md.lines().collect();
    let mut i = 0;
    let mut in_list = false;
    while i < lines.len() {
        let line = lines[i];
        if in_list && !line.starts_with("- ") {
            out.push_str("</ul>\n");
            in_list = false;
        }
        if let Some(h) = line.strip_prefix("### ") {
            let _ = writeln!(out, "<h2>{}</h2>", escape(h));
        } else if line.starts_with('|') {
            let start = i;
            while i < lines.len() && lines[i].starts_with('|') {
                i += 1;
            }
            table(out, &lines[start..i]);
            continue;
        } else if let Some(item) = line.strip_prefix("- ") {
            if !in_list {
                out.push_str("<ul>\n");
                in_list = true;
            }
            let _ = writeln!(out, "<li>{}</li>", inline(item));
        } else if !line.trim().is_empty() {
            let _ = writeln!(out, "<p class=\"caption\">{}</p>", inline(line));
        }
        i += 1;
    }
    if in_list {
        out.push_str("</ul>\n");
    }
}

/// The page: `title` as heading, every space's table, caption and figures
/// (`figs`: the SVG figures `report` wrote), then `extra` (further
/// Markdown sections of the report, e.g. cost-to-target), then the
/// unfinished and unreadable runs.
pub fn render(title: &str, s: &Summary, figs: &[Figure], extra: &[&str]) -> String {
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{t}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{t}</h1>\n",
        t = escape(title)
    );
    let part = |spaces| Summary {
        spaces,
        unfinished: Vec::new(),
        skipped: Vec::new(),
        warnings: Vec::new(),
        ..s.clone()
    };
    for t in &s.spaces {
        convert(&mut out, &markdown::render(&part(vec![t.clone()])));
        figures(&mut out, &t.space, figs);
    }
    for md in extra {
        convert(&mut out, md);
    }
    let rest = Summary {
        spaces: Vec::new(),
        ..s.clone()
    };
    convert(&mut out, &markdown::render(&rest));
    out.push_str("</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_tables_lists_and_code_become_escaped_html() {
        let md = "### cell (C=4)\n\n| strategy | acc |\n|---|---:|\n| a<b | `1` |\n\nSee `never` & more.\n\n- x.jsonl:3: torn\n";
        let mut out = String::new();
        convert(&mut out, md);
        assert!(out.contains("<h2>cell (C=4)</h2>"), "{out}");
        assert!(
            out.contains("<th>strategy</th><th class=\"r\">acc</th>"),
            "{out}"
        );
        assert!(
            out.contains("<td>a&lt;b</td><td class=\"r\"><code>1</code></td>"),
            "{out}"
        );
        assert!(
            !out.contains("---"),
            "the separator row is not a row: {out}"
        );
        assert!(out.contains("See <code>never</code> &amp; more."), "{out}");
        assert!(
            out.contains("<ul>\n<li>x.jsonl:3: torn</li>\n</ul>"),
            "{out}"
        );
        assert_eq!(inline("a ` b"), "a ` b", "an unpaired backtick stays");
    }
}
