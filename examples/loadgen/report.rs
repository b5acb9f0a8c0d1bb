//! One scenario's figures: a readable table on stdout, then one JSON line.

use hdrhistogram::Histogram;
use serde_json::{Map, Value};

pub struct Report {
    pub scenario: String,
    rows: Vec<(String, Value)>,
    pub problems: Vec<String>,
}

impl Report {
    pub fn new(scenario: &str) -> Self {
        Report {
            scenario: scenario.to_owned(),
            rows: Vec::new(),
            problems: Vec::new(),
        }
    }

    pub fn add(&mut self, key: &str, v: impl Into<Value>) {
        self.rows.push((key.to_owned(), v.into()));
    }

    /// Round a float for display/JSON.
    pub fn addf(&mut self, key: &str, v: f64, decimals: i32) {
        let p = 10f64.powi(decimals);
        let r = (v * p).round() / p;
        self.add(
            key,
            if r.is_finite() {
                Value::from(r)
            } else {
                Value::Null
            },
        );
    }

    /// Latency percentiles (histogram recorded in microseconds) as milliseconds.
    pub fn add_latency(&mut self, prefix: &str, h: &Histogram<u64>) {
        let q = |q: f64| {
            if h.is_empty() {
                f64::NAN
            } else {
                h.value_at_quantile(q) as f64 / 1000.0
            }
        };
        self.addf(&format!("{prefix}_p50_ms"), q(0.5), 3);
        self.addf(&format!("{prefix}_p99_ms"), q(0.99), 3);
        self.addf(&format!("{prefix}_p999_ms"), q(0.999), 3);
        self.addf(&format!("{prefix}_max_ms"), q(1.0), 3);
    }

    pub fn problem(&mut self, p: impl Into<String>) {
        self.problems.push(p.into());
    }

    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    pub fn print(&self) {
        let w = self.rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        println!("== {} ==", self.scenario);
        for (k, v) in &self.rows {
            let shown = match v {
                Value::String(s) => s.clone(),
                Value::Null => "-".to_owned(),
                other => other.to_string(),
            };
            println!("  {k:<w$}  {shown}");
        }
        for p in &self.problems {
            println!("  PROBLEM: {p}");
        }
        println!("{}", self.json());
    }

    pub fn json(&self) -> Value {
        let mut m = Map::new();
        m.insert("scenario".into(), Value::from(self.scenario.clone()));
        for (k, v) in &self.rows {
            m.insert(k.clone(), v.clone());
        }
        m.insert("ok".into(), Value::from(self.ok()));
        m.insert("problems".into(), Value::from(self.problems.clone()));
        Value::Object(m)
    }
}

pub fn new_hist() -> Histogram<u64> {
    // 1 us .. 120 s, 3 significant digits.
    Histogram::new_with_bounds(1, 120_000_000, 3).expect("static histogram bounds are valid")
}
