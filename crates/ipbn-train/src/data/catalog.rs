//! The catalogue of standard datasets that `ipbn data fetch` can download: their names,
//! files, mirrors, published checksums and licences, and where they are cached.
//!
//! Every dataset here is in the MNIST IDX layout: the four files of [`super::MNIST_FILES`],
//! gzipped, 60,000 training and 10,000 test images of 28 × 28 bytes with labels 0–9.
//! The checksums are the MD5 sums the datasets' publishers list (the only kind they
//! publish); `datasets/README.md` records where each was taken from.
//!
//! A [`DatasetSpec`] is plain data with public fields, so a caller (or a test) can point a
//! dataset at other mirrors ([`DatasetSpec::with_mirrors`], or `IPBN_DATA_MIRRORS` through
//! [`mirrors_from_env`]) or give it other checksums.

use std::path::PathBuf;

use super::DataError;

/// Environment variable naming the root of the dataset cache: dataset `NAME` lives in
/// `$IPBN_DATA/NAME`.
pub const DATA_ENV: &str = "IPBN_DATA";

/// Environment variable replacing the built-in mirror list: comma-separated base URLs, each
/// file fetched as `BASE/FILENAME`.
pub const MIRRORS_ENV: &str = "IPBN_DATA_MIRRORS";

/// The names of the datasets in the catalogue, in the order [`catalog`] lists them.
pub const DATASET_NAMES: [&str; 3] = ["mnist", "fashion-mnist", "kmnist"];

/// A published checksum of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Checksum {
    /// An MD5 digest, as 32 lower-case hexadecimal digits.
    Md5(String),
}

impl Checksum {
    /// An MD5 checksum from its hexadecimal form (either case).
    ///
    /// # Errors
    /// [`DataError::Invalid`] if `hex` is not 32 hexadecimal digits.
    pub fn md5(hex: &str) -> Result<Checksum, DataError> {
        if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(DataError::invalid(
                "checksum",
                format!("`{hex}` is not an MD5 digest; write 32 hexadecimal digits"),
            ));
        }
        Ok(Checksum::Md5(hex.to_ascii_lowercase()))
    }

    /// The name of the algorithm, e.g. `MD5`.
    pub fn algorithm(&self) -> &'static str {
        match self {
            Checksum::Md5(_) => "MD5",
        }
    }

    /// The expected digest, lower-case hexadecimal.
    pub fn hex(&self) -> &str {
        match self {
            Checksum::Md5(h) => h,
        }
    }

    /// A fresh hasher of this checksum's algorithm.
    pub fn hasher(&self) -> Hasher {
        match self {
            Checksum::Md5(_) => Hasher::md5(),
        }
    }
}

impl std::fmt::Display for Checksum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.algorithm(), self.hex())
    }
}

/// A running digest of one [`Checksum`] algorithm.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Hasher {
    /// MD5.
    Md5(md5::Md5),
}

impl Hasher {
    /// A fresh MD5 hasher.
    pub fn md5() -> Hasher {
        Hasher::Md5(<md5::Md5 as md5::Digest>::new())
    }

    /// Feeds `bytes`.
    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Md5(h) => md5::Digest::update(h, bytes),
        }
    }

    /// The digest of everything fed, lower-case hexadecimal.
    pub fn finish_hex(self) -> String {
        let digest: Vec<u8> = match self {
            Hasher::Md5(h) => md5::Digest::finalize(h).to_vec(),
        };
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// One file of a dataset: its name on the mirrors (and in the cache) and its checksum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteFile {
    /// File name, e.g. `train-images-idx3-ubyte.gz`.
    pub name: String,
    /// The checksum its publishers list.
    pub checksum: Checksum,
}

/// A dataset that can be fetched: its files, where to get them and under what terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatasetSpec {
    /// Catalogue name, e.g. `fashion-mnist`; also the name of its cache folder.
    pub name: String,
    /// Human-readable title, e.g. `Fashion-MNIST`.
    pub title: String,
    /// Base URLs, tried in order; file `F` is fetched as `BASE/F`.
    pub mirrors: Vec<String>,
    /// The files, in the order training images, training labels, test images, test labels.
    pub files: Vec<RemoteFile>,
    /// The licence the data is distributed under.
    pub licence: String,
    /// Where the checksums were published.
    pub checksum_source: String,
}

impl DatasetSpec {
    /// The same dataset fetched from `mirrors` instead.
    pub fn with_mirrors(mut self, mirrors: Vec<String>) -> DatasetSpec {
        self.mirrors = mirrors;
        self
    }

    /// How a run on this dataset's full training and test files is described in results,
    /// e.g. `fashion-mnist (60,000/10,000)`.
    pub fn label(&self) -> String {
        format!("{} (60,000/10,000)", self.name)
    }
}

/// The four standard file names with their MD5 sums, in [`super::MNIST_FILES`] order.
fn idx_files(md5s: [&str; 4]) -> Vec<RemoteFile> {
    super::MNIST_FILES
        .iter()
        .zip(md5s)
        .map(|(base, sum)| RemoteFile {
            name: format!("{base}.gz"),
            checksum: Checksum::Md5(sum.to_string()),
        })
        .collect()
}

/// Every dataset of the catalogue, in [`DATASET_NAMES`] order.
pub fn catalog() -> Vec<DatasetSpec> {
    vec![
        DatasetSpec {
            name: "mnist".into(),
            title: "MNIST".into(),
            mirrors: vec![
                "https://ossci-datasets.s3.amazonaws.com/mnist".into(),
                "https://storage.googleapis.com/cvdf-datasets/mnist".into(),
                "http://yann.lecun.com/exdb/mnist".into(),
            ],
            files: idx_files([
                "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                "d53e105ee54ea40749a09fcbcd1e9432",
                "9fb629c4189551a2d022fa330f9573f3",
                "ec29112dd5afa0611ce80d1b7f02629c",
            ]),
            licence: "CC BY-SA 3.0 (Yann LeCun, Corinna Cortes, Christopher J.C. Burges)".into(),
            checksum_source: "torchvision, torchvision/datasets/mnist.py (class MNIST)".into(),
        },
        DatasetSpec {
            name: "fashion-mnist".into(),
            title: "Fashion-MNIST".into(),
            mirrors: vec![
                "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com".into(),
                "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion"
                    .into(),
            ],
            files: idx_files([
                "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                "25c81989df183df01b3e8a0aad5dffbe",
                "bef4ecab320f06d8554ea6380940ec79",
                "bb300cfdad3c16e7a12a480ee83cd310",
            ]),
            licence: "MIT (Zalando SE)".into(),
            checksum_source: "the Fashion-MNIST README (zalandoresearch/fashion-mnist), \
                              as also listed by torchvision"
                .into(),
        },
        DatasetSpec {
            name: "kmnist".into(),
            title: "Kuzushiji-MNIST".into(),
            mirrors: vec![
                "http://codh.rois.ac.jp/kmnist/dataset/kmnist".into(),
                "https://storage.googleapis.com/kuzushiji-mnist".into(),
            ],
            files: idx_files([
                "bdb82020997e1d708af4cf47b453dcf7",
                "e144d726b3acfaa3e44228e80efcd344",
                "5c965bf0a639b31b8f53240b1b52f4d7",
                "7320c461ea6c1c855c0b718fb2a4b134",
            ]),
            licence: "CC BY-SA 4.0 (\"KMNIST Dataset\" (created by CODH), adapted from \
                      \"Kuzushiji Dataset\" (created by NIJL and others), doi:10.20676/00000341)"
                .into(),
            checksum_source: "torchvision, torchvision/datasets/mnist.py (class KMNIST); \
                              the KMNIST README publishes no checksums"
                .into(),
        },
    ]
}

/// The catalogue entry named `name`.
///
/// # Errors
/// [`DataError::UnknownDataset`] naming the datasets there are.
pub fn spec(name: &str) -> Result<DatasetSpec, DataError> {
    catalog()
        .into_iter()
        .find(|d| d.name == name)
        .ok_or_else(|| DataError::UnknownDataset {
            name: name.to_string(),
            known: DATASET_NAMES.join(", "),
        })
}

/// The mirror list of [`MIRRORS_ENV`] if it is set and not blank.
///
/// # Errors
/// [`DataError::Invalid`] if an entry is empty or is not an `http://` or `https://` URL.
pub fn mirrors_from_env() -> Result<Option<Vec<String>>, DataError> {
    match std::env::var(MIRRORS_ENV) {
        Ok(v) if !v.trim().is_empty() => parse_mirrors(&v).map(Some),
        _ => Ok(None),
    }
}

/// Parses a comma-separated list of base URLs (surrounding spaces and trailing `/` removed).
///
/// # Errors
/// [`DataError::Invalid`] naming [`MIRRORS_ENV`] if an entry is empty or not an `http://`
/// or `https://` URL.
pub fn parse_mirrors(list: &str) -> Result<Vec<String>, DataError> {
    list.split(',')
        .map(|m| {
            let m = m.trim().trim_end_matches('/');
            let host = m
                .strip_prefix("http://")
                .or_else(|| m.strip_prefix("https://"));
            match host {
                Some(h) if !h.is_empty() => Ok(m.to_string()),
                _ => Err(DataError::invalid(
                    MIRRORS_ENV,
                    format!(
                        "`{m}` is not a base URL; give comma-separated http:// or https:// \
                         URLs, e.g. http://127.0.0.1:8000/mnist"
                    ),
                )),
            }
        })
        .collect()
}

/// The root of the dataset cache: `$IPBN_DATA` if set and not empty, else the platform's
/// cache folder followed by `ipbn` (e.g. `~/.cache/ipbn` on Linux).
///
/// # Errors
/// [`DataError::NoCacheDir`] if neither is known.
pub fn cache_root() -> Result<PathBuf, DataError> {
    match std::env::var_os(DATA_ENV) {
        Some(v) if !v.is_empty() => Ok(PathBuf::from(v)),
        _ => dirs::cache_dir()
            .map(|d| d.join("ipbn"))
            .ok_or(DataError::NoCacheDir),
    }
}

/// The cache folder of dataset `name`: [`cache_root`]`/NAME`.
///
/// # Errors
/// Those of [`cache_root`].
pub fn cache_dir(name: &str) -> Result<PathBuf, DataError> {
    Ok(cache_root()?.join(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_is_consistent() {
        let all = catalog();
        let names: Vec<&str> = all.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, DATASET_NAMES);
        for d in &all {
            assert_eq!(d.files.len(), 4, "{}", d.name);
            assert!(!d.mirrors.is_empty(), "{}", d.name);
            for f in &d.files {
                assert!(f.name.ends_with("-ubyte.gz"), "{}", f.name);
                Checksum::md5(f.checksum.hex()).unwrap();
            }
            for m in &d.mirrors {
                assert_eq!(parse_mirrors(m).unwrap(), vec![m.clone()]);
            }
        }
        assert_eq!(all[0].files[0].name, "train-images-idx3-ubyte.gz");
        assert_eq!(all[0].files[3].name, "t10k-labels-idx1-ubyte.gz");
        assert_eq!(spec("kmnist").unwrap().title, "Kuzushiji-MNIST");
        let e = spec("cifar").unwrap_err().to_string();
        assert!(e.contains("cifar") && e.contains("fashion-mnist"), "{e}");
    }

    #[test]
    fn md5_hashes_the_standard_test_vectors() {
        let c = Checksum::md5("900150983CD24FB0D6963F7D28E17F72").unwrap();
        assert_eq!(c.hex(), "900150983cd24fb0d6963f7d28e17f72");
        let mut h = c.hasher();
        h.update(b"a");
        h.update(b"bc");
        assert_eq!(h.finish_hex(), c.hex());
        assert_eq!(
            Checksum::md5("x").unwrap_err().to_string(),
            "checksum: `x` is not an MD5 digest; write 32 hexadecimal digits"
        );
    }

    #[test]
    fn mirror_lists_are_parsed_and_checked() {
        assert_eq!(
            parse_mirrors(" http://a:1/x/ ,https://b").unwrap(),
            vec!["http://a:1/x".to_string(), "https://b".to_string()]
        );
        for bad in ["", "ftp://a", "http://", "a,,b"] {
            let e = parse_mirrors(bad).unwrap_err().to_string();
            assert!(e.starts_with(MIRRORS_ENV), "{bad}: {e}");
        }
    }
}
