//! `GET /metrics` as Prometheus reads it: [`Scrape::parse`] checks the OpenMetrics text
//! exposition (families declared before their samples, sample names that fit their type,
//! quoted and escaped label values, numbers, cumulative histogram buckets, `# EOF` last) and
//! keeps the samples for [`Scrape::value`].

use std::collections::BTreeMap;

/// One parsed scrape.
#[derive(Debug)]
pub struct Scrape {
    /// The text as served, for failure messages.
    pub text: String,
    /// Every sample, in order.
    pub samples: Vec<Sample>,
}

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The sample's name (`…_total`, `…_bucket`…).
    pub name: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Its value.
    pub value: f64,
}

impl Scrape {
    /// Parses OpenMetrics 1.0 text, panicking with the offending line on anything Prometheus
    /// would refuse.
    pub fn parse(text: &str) -> Self {
        let body = text
            .strip_suffix("# EOF\n")
            .unwrap_or_else(|| panic!("the exposition must end with `# EOF`:\n{text}"));
        let mut types: BTreeMap<String, String> = BTreeMap::new();
        let mut samples = Vec::new();
        for line in body.lines() {
            if let Some(comment) = line.strip_prefix("# ") {
                let mut words = comment.splitn(3, ' ');
                let (kind, family) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
                let rest = words.next().unwrap_or("");
                assert!(valid_name(family), "bad family name in `{line}`");
                match kind {
                    "TYPE" => {
                        assert!(
                            [
                                "counter",
                                "gauge",
                                "histogram",
                                "info",
                                "stateset",
                                "summary",
                                "unknown"
                            ]
                            .contains(&rest),
                            "unknown type in `{line}`"
                        );
                        let earlier = types.insert(family.to_owned(), rest.to_owned());
                        assert!(earlier.is_none(), "family declared twice: `{line}`");
                    }
                    "HELP" => {}
                    "UNIT" => assert!(
                        family.ends_with(&format!("_{rest}")),
                        "a family with a unit ends in it: `{line}`"
                    ),
                    _ => panic!("unknown comment `{line}`"),
                }
                continue;
            }
            let sample = parse_sample(line);
            let family = types
                .iter()
                .filter(|(family, _)| sample.name.starts_with(family.as_str()))
                .max_by_key(|(family, _)| family.len())
                .unwrap_or_else(|| panic!("sample before its `# TYPE`: `{line}`"));
            let suffix = &sample.name[family.0.len()..];
            let allowed: &[&str] = match family.1.as_str() {
                "counter" => &["_total", "_created"],
                "histogram" => &["_bucket", "_count", "_sum", "_created"],
                _ => &[""],
            };
            assert!(
                allowed.contains(&suffix),
                "`{}` is no sample of the {} `{}`",
                sample.name,
                family.1,
                family.0
            );
            samples.push(sample);
        }
        let scrape = Self {
            text: text.to_owned(),
            samples,
        };
        scrape.check_histograms(&types);
        scrape
    }

    /// Every histogram's buckets grow with `le` and end at `+Inf`, equal to its `_count`.
    fn check_histograms(&self, types: &BTreeMap<String, String>) {
        for family in types
            .iter()
            .filter(|(_, kind)| *kind == "histogram")
            .map(|(family, _)| family)
        {
            // Labels but `le` -> (le, cumulative count) in order.
            let mut series: BTreeMap<BTreeMap<String, String>, Vec<(f64, f64)>> = BTreeMap::new();
            for sample in self
                .samples
                .iter()
                .filter(|s| s.name == format!("{family}_bucket"))
            {
                let mut labels = sample.labels.clone();
                let le = labels
                    .remove("le")
                    .unwrap_or_else(|| panic!("a bucket without `le`: {sample:?}"));
                let le = parse_number(&le);
                series.entry(labels).or_default().push((le, sample.value));
            }
            for (labels, buckets) in series {
                assert!(
                    buckets
                        .windows(2)
                        .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1),
                    "{family}{labels:?}: buckets must grow: {buckets:?}"
                );
                let (le, last) = *buckets.last().expect("at least one bucket");
                assert_eq!(le, f64::INFINITY, "{family}{labels:?} ends at +Inf");
                let wanted: Vec<(&str, &str)> = labels
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                assert_eq!(
                    self.value(&format!("{family}_count"), &wanted),
                    Some(last),
                    "{family}{labels:?}: the +Inf bucket is the count"
                );
            }
        }
    }

    /// The sum of the samples called `name` whose labels include `labels`; `None` if there
    /// is none.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let mut matching = self
            .samples
            .iter()
            .filter(|s| {
                s.name == name
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .peekable();
        matching.peek()?;
        Some(matching.map(|s| s.value).sum())
    }

    /// [`Self::value`], 0 when there is no such sample (a series not created yet).
    pub fn count(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.value(name, labels).unwrap_or(0.0)
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn parse_number(text: &str) -> f64 {
    match text {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        _ => text
            .parse()
            .unwrap_or_else(|_| panic!("`{text}` is not a number")),
    }
}

/// `name{k="v",…} value` (no timestamps or exemplars: the server writes none).
fn parse_sample(line: &str) -> Sample {
    let name_end = line
        .find(['{', ' '])
        .unwrap_or_else(|| panic!("no value in `{line}`"));
    let name = &line[..name_end];
    assert!(valid_name(name), "bad sample name in `{line}`");
    let mut labels = BTreeMap::new();
    let mut rest = &line[name_end..];
    if let Some(mut inside) = rest.strip_prefix('{') {
        loop {
            if let Some(after) = inside.strip_prefix('}') {
                rest = after;
                break;
            }
            let eq = inside
                .find("=\"")
                .unwrap_or_else(|| panic!("a label without `=\"` in `{line}`"));
            let key = &inside[..eq];
            assert!(valid_name(key), "bad label name `{key}` in `{line}`");
            let mut value = String::new();
            let mut chars = inside[eq + 2..].char_indices();
            let close = loop {
                match chars.next() {
                    Some((i, '"')) => break eq + 2 + i,
                    Some((_, '\\')) => match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, c @ ('\\' | '"'))) => value.push(c),
                        other => panic!("bad escape {other:?} in `{line}`"),
                    },
                    Some((_, '\n')) | None => panic!("an unclosed label value in `{line}`"),
                    Some((_, c)) => value.push(c),
                }
            };
            assert!(
                labels.insert(key.to_owned(), value).is_none(),
                "label `{key}` twice in `{line}`"
            );
            inside = &inside[close + 1..];
            inside = inside.strip_prefix(',').unwrap_or(inside);
        }
    }
    let value = rest
        .strip_prefix(' ')
        .unwrap_or_else(|| panic!("no space before the value in `{line}`"));
    assert!(!value.contains(' '), "timestamps or exemplars in `{line}`");
    Sample {
        name: name.to_owned(),
        labels,
        value: parse_number(value),
    }
}
