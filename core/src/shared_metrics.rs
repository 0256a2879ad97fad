//! Client metrics shared by the processes of a pool, in a file every one of
//! them maps.
//!
//! PHP-FPM workers each hold their own clients, and so their own counters
//! and latency histograms: a scrape of one worker shows a fraction of what
//! the host's applications saw. [`init`] maps a file (on tmpfs, such as
//! `/dev/shm/mcring-metrics`) with `MAP_SHARED`; clients created afterwards
//! in this process, and in every process forked from it later, add each
//! count and each latency observation to their server's slot there as well
//! as to their own. `mcring exporter --shm PATH` reads the file ([`read`])
//! and serves what every worker of the host saw, under the same metric
//! names as a single client's metrics.
//!
//! The file is a table of fixed slots, one per server name (every client of
//! any pool that names the same server adds into the same slot), holding
//! only atomics: no lock a dying worker could leave held, and counts survive
//! the workers that made them. Counts keep going up across restarts of the
//! pool (Prometheus counters need no reset); delete the file to start from
//! zero. The file is never truncated in place, as readers may have it
//! mapped: an area of another layout (another mcring version) is replaced
//! by a new file under the same name.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicU8, Ordering};
use std::sync::Mutex;

use crate::histogram::{self, CommandClass, SharedLatencies, BUCKETS};
use crate::stats::{ClientStats, SharedCounters, Snapshot, COUNTER_COUNT};

/// Slots in the area: servers beyond this are left out of it (and counted
/// in `full`).
pub const SLOTS: usize = 512;
/// Bytes of a server name kept in its slot (longer names are cut there;
/// the slot is still the name's own).
const NAME_BYTES: usize = 248;
const MAGIC: u64 = 0x6d63_726d_6574_0001; // "mcrmet" + version

/// One server's metrics in the area.
#[repr(C)]
pub struct Slot {
    /// Hash of the server's name (never 0); 0 marks a free slot.
    key: AtomicU64,
    /// Length of `name`, set once it is written; 0 while being claimed.
    name_len: AtomicU64,
    name: [AtomicU8; NAME_BYTES],
    /// The counters, indexed by [`crate::stats::Counter`].
    pub counters: SharedCounters,
    /// The latency histograms, indexed by [`CommandClass`].
    pub latencies: SharedLatencies,
}

/// What a reader checks before trusting the layout: counters, buckets,
/// classes, slots, slot size.
const LAYOUT: [u64; 5] = [
    COUNTER_COUNT as u64,
    BUCKETS as u64,
    CommandClass::ALL.len() as u64,
    SLOTS as u64,
    std::mem::size_of::<Slot>() as u64,
];

#[repr(C)]
struct Region {
    /// [`MAGIC`], written last when the area is created.
    magic: AtomicU64,
    layout: [AtomicU64; 5],
    /// Servers that found every slot taken.
    full: AtomicU64,
    slots: [Slot; SLOTS],
}

/// The size of the file.
pub const AREA_BYTES: usize = std::mem::size_of::<Region>();

static REGION: AtomicPtr<Region> = AtomicPtr::new(std::ptr::null_mut());
/// The area's path, once mapped; held while mapping it.
static PATH: Mutex<Option<PathBuf>> = Mutex::new(None);

impl Region {
    fn is_valid(&self) -> bool {
        self.magic.load(Ordering::Acquire) == MAGIC
            && self.layout.iter().zip(LAYOUT).all(|(a, l)| a.load(Ordering::Relaxed) == l)
    }

    /// Writes the header of a fresh (all-zero) area.
    fn stamp(&self) {
        for (a, l) in self.layout.iter().zip(LAYOUT) {
            a.store(l, Ordering::Relaxed);
        }
        self.magic.store(MAGIC, Ordering::Release);
    }

    /// The metrics in the area, servers sorted by name.
    fn stats(&self) -> ClientStats {
        let mut servers: Vec<(String, &Slot)> = self
            .slots
            .iter()
            .filter_map(|slot| {
                let len = (slot.name_len.load(Ordering::Acquire) as usize).min(NAME_BYTES);
                if slot.key.load(Ordering::Acquire) == 0 || len == 0 {
                    return None;
                }
                let bytes: Vec<u8> =
                    slot.name[..len].iter().map(|b| b.load(Ordering::Relaxed)).collect();
                Some((String::from_utf8_lossy(&bytes).into_owned(), slot))
            })
            .collect();
        servers.sort_by(|a, b| a.0.cmp(&b.0));
        let mut stats = ClientStats::default();
        for (name, slot) in servers {
            let mut values = [0u64; COUNTER_COUNT];
            for (v, a) in values.iter_mut().zip(&slot.counters) {
                *v = a.load(Ordering::Relaxed);
            }
            stats.push(
                name,
                Snapshot::from_values(&values),
                histogram::snapshot_shared(&slot.latencies),
            );
        }
        stats
    }
}

/// Closes a file descriptor when dropped.
struct Fd(libc::c_int);

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: a descriptor this module opened and owns.
        unsafe { libc::close(self.0) };
    }
}

fn c_path(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

fn os<T: PartialOrd + Default>(r: T) -> io::Result<T> {
    if r < T::default() {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn open(path: &CString, flags: libc::c_int) -> io::Result<Fd> {
    // SAFETY: a NUL-terminated path; the mode is read only with O_CREAT.
    let fd =
        os(unsafe { libc::open(path.as_ptr(), flags | libc::O_CLOEXEC, 0o644 as libc::c_uint) })?;
    Ok(Fd(fd))
}

fn fstat(fd: &Fd) -> io::Result<libc::stat> {
    // SAFETY: an all-zero stat is a valid out-buffer.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat writes one stat.
    os(unsafe { libc::fstat(fd.0, &mut st) })?;
    Ok(st)
}

/// Maps the whole area of `fd`.
fn map(fd: &Fd, writable: bool) -> io::Result<*mut Region> {
    let prot = if writable { libc::PROT_READ | libc::PROT_WRITE } else { libc::PROT_READ };
    // SAFETY: a shared mapping of AREA_BYTES of a file at least that long.
    let ptr =
        unsafe { libc::mmap(std::ptr::null_mut(), AREA_BYTES, prot, libc::MAP_SHARED, fd.0, 0) };
    if ptr == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    Ok(ptr as *mut Region)
}

fn unmap(region: *mut Region) {
    // SAFETY: a mapping of AREA_BYTES made by `map`, not used afterwards.
    unsafe { libc::munmap(region as *mut libc::c_void, AREA_BYTES) };
}

/// A fresh area in a new file at `path` (which must not exist).
fn create_at(path: &CString) -> io::Result<*mut Region> {
    let fd = open(path, libc::O_RDWR | libc::O_CREAT | libc::O_EXCL)?;
    // SAFETY: sizing the file just created; the new bytes read as zeros.
    os(unsafe { libc::ftruncate(fd.0, AREA_BYTES as libc::off_t) })?;
    let region = map(&fd, true)?;
    // SAFETY: a fresh writable mapping; all-zero is a valid Region.
    unsafe { (*region).stamp() };
    Ok(region)
}

/// Opens (or creates) the area at `path` for writing.
fn open_area(path: &Path) -> io::Result<*mut Region> {
    let cpath = c_path(path)?;
    loop {
        let fd = open(&cpath, libc::O_RDWR | libc::O_CREAT)?;
        // The lock orders processes opening the area at the same time; it
        // is released when `fd` is closed.
        // SAFETY: flock on our descriptor.
        os(unsafe { libc::flock(fd.0, libc::LOCK_EX) })?;
        let st = fstat(&fd)?;
        // Replaced by another process while we waited for the lock?
        // SAFETY: an all-zero stat is a valid out-buffer; stat writes one.
        let mut now: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: a NUL-terminated path, one stat written.
        if unsafe { libc::stat(cpath.as_ptr(), &mut now) } != 0
            || (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino)
        {
            continue;
        }
        if st.st_size == 0 {
            // SAFETY: growing an empty file nobody can have mapped.
            os(unsafe { libc::ftruncate(fd.0, AREA_BYTES as libc::off_t) })?;
        }
        if st.st_size == 0 || st.st_size as usize == AREA_BYTES {
            let region = map(&fd, true)?;
            // SAFETY: a mapping of AREA_BYTES; all-zero is a valid Region.
            let r = unsafe { &*region };
            if r.is_valid() {
                return Ok(region);
            }
            if r.magic.load(Ordering::Acquire) == 0 {
                // New (or its creator died before finishing): ours to stamp.
                r.stamp();
                return Ok(region);
            }
            unmap(region);
        }
        // Another layout: a new file takes the name; readers that have the
        // old one mapped keep it until they unmap it.
        let tmp = c_path(&path.with_extension(format!("new.{}", std::process::id())))?;
        // SAFETY: a NUL-terminated path.
        unsafe { libc::unlink(tmp.as_ptr()) };
        let region = create_at(&tmp)?;
        // SAFETY: NUL-terminated paths.
        if let Err(e) = os(unsafe { libc::rename(tmp.as_ptr(), cpath.as_ptr()) }) {
            unmap(region);
            return Err(e);
        }
        return Ok(region);
    }
}

/// Maps the shared metrics area at `path` (creating the file if needed)
/// for this process and the processes it forks afterwards. Call it in the
/// parent before workers fork (PHP's MINIT, a pre-fork server's master).
/// Clients created afterwards add to it; clients created before do not.
/// Calling it again with the same path is a no-op; with another path it
/// fails (a process has one area).
pub fn init(path: &Path) -> io::Result<()> {
    let mut current = PATH.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(existing) = current.as_ref() {
        return if existing == path {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("shared metrics already use {}", existing.display()),
            ))
        };
    }
    let region = open_area(path).map_err(|e| with_path(path, e))?;
    REGION.store(region, Ordering::Release);
    *current = Some(path.to_path_buf());
    Ok(())
}

fn with_path(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

fn region() -> Option<&'static Region> {
    let ptr = REGION.load(Ordering::Acquire);
    // SAFETY: once published the mapping lives as long as the process and
    // holds only atomics.
    unsafe { ptr.as_ref() }
}

/// Whether this process has a shared metrics area.
pub fn is_enabled() -> bool {
    region().is_some()
}

/// The path of this process's area, if it has one.
pub fn path() -> Option<PathBuf> {
    PATH.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// The slot of the server named `name`, claiming one on first use; `None`
/// without an area or when every slot is taken.
pub(crate) fn slot(name: &str) -> Option<&'static Slot> {
    let region = region()?;
    let key = crate::invalidation::name_key(name.as_bytes());
    let start = (key as usize) % SLOTS;
    for i in 0..SLOTS {
        let slot = &region.slots[(start + i) % SLOTS];
        match slot.key.compare_exchange(0, key, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => {
                let bytes = name.as_bytes();
                let len = bytes.len().min(NAME_BYTES);
                for (a, &b) in slot.name.iter().zip(&bytes[..len]) {
                    a.store(b, Ordering::Relaxed);
                }
                slot.name_len.store(len as u64, Ordering::Release);
                return Some(slot);
            }
            Err(existing) if existing == key => return Some(slot),
            Err(_) => {}
        }
    }
    region.full.fetch_add(1, Ordering::Relaxed);
    None
}

/// The metrics in this process's area (every process's counts), if it has
/// one.
pub fn snapshot() -> Option<ClientStats> {
    region().map(Region::stats)
}

/// The metrics in the area at `path`, as written by every process using
/// it: for exporters, which map it read-only and never write.
pub fn read(path: &Path) -> io::Result<ClientStats> {
    let cpath = c_path(path)?;
    let fd = open(&cpath, libc::O_RDONLY).map_err(|e| with_path(path, e))?;
    let st = fstat(&fd)?;
    let invalid = |what: &str| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: not a metrics area of this mcring version ({what})", path.display()),
        )
    };
    if st.st_size as usize != AREA_BYTES {
        return Err(invalid(&format!("{} bytes, expected {AREA_BYTES}", st.st_size)));
    }
    let region = map(&fd, false).map_err(|e| with_path(path, e))?;
    // SAFETY: a read-only mapping of AREA_BYTES, only loaded from, unmapped
    // below.
    let r = unsafe { &*region };
    let stats = if r.is_valid() { Ok(r.stats()) } else { Err(invalid("header")) };
    unmap(region);
    stats
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use crate::histogram::Latencies;
    use crate::stats::{Counter, Counters};

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mcring-shm-{}-{name}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        dir
    }

    #[test]
    fn readers_see_what_every_forked_writer_counted() {
        let path = temp("fork");
        init(&path).unwrap();
        init(&path).unwrap();
        assert!(init(&temp("other")).is_err(), "one area per process");
        assert_eq!(self::path(), Some(path.clone()));
        // (Other tests of this process may add servers of their own.)
        let counters = Counters::for_server("shm-a:1");
        let latencies = Latencies::for_server("shm-a:1");
        counters.incr(Counter::Gets);
        latencies.record(CommandClass::Get, Duration::from_micros(30));
        // SAFETY: fork in a test; the child only counts and exits.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let mine = Counters::for_server("shm-a:1");
            mine.add(Counter::Gets, 10);
            Latencies::for_server("shm-a:1").record(CommandClass::Get, Duration::from_millis(3));
            Counters::for_server("shm-b:2").incr(Counter::Sets);
            // SAFETY: leave the child at once, without the test harness.
            unsafe { libc::_exit(0) };
        }
        let mut status = 0;
        // SAFETY: waiting for the child forked above.
        unsafe { libc::waitpid(pid, &mut status, 0) };

        let seen = read(&path).unwrap();
        let at = |name: &str| seen.servers.iter().position(|(n, _)| n == name).unwrap();
        let (a, b) = (at("shm-a:1"), at("shm-b:2"));
        assert!(a < b, "sorted by name");
        assert_eq!(seen.servers[a].1.gets, 11, "the parent's 1 and the child's 10");
        assert_eq!(seen.servers[b].1.sets, 1);
        let get = seen.latencies[a][CommandClass::Get as usize];
        assert_eq!(get.count(), 2);
        assert_eq!(get.sum_ns, 30_000 + 3_000_000);
        // The client's own counters are its own.
        assert_eq!(counters.snapshot().gets, 1);
        let own = snapshot().unwrap();
        assert!(own.servers.iter().any(|(n, s)| n == "shm-a:1" && s.gets == 11));
        let text = seen.prometheus();
        assert!(text.contains("mcring_client_gets_total{server=\"shm-a:1\"} 11\n"), "{text}");

        // Another layout is refused by readers; a writer replaces it.
        let other = temp("layout");
        std::fs::write(&other, b"not an area").unwrap();
        let e = read(&other).unwrap_err();
        assert!(e.to_string().contains("not a metrics area"), "{e}");
        let replaced = open_area(&other).unwrap();
        unmap(replaced);
        assert_eq!(read(&other).unwrap(), ClientStats::default());
        assert!(read(&temp("missing")).is_err());
        let _ = std::fs::remove_file(&other);
        let _ = std::fs::remove_file(&path);
    }
}
