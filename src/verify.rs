//! Proof that a program implements its decision intervals, for all 2^32
//! arches and all 2^32 numbers.
//!
//! The argument. For programs built from `ld [nr]`, `ld [arch]`,
//! `jeq/jge/jgt/jset #k`, `ja` and `ret #k`, the outcome depends on `(arch,
//! nr)` alone and each instruction either moves the accumulator or splits the
//! inputs reaching it by a predicate on one of the two fields. So we run the
//! program symbolically on sets: a state is a rectangle `ArchSet x NrSet`
//! together with what the accumulator holds (0, arch or nr); a comparison
//! splits one side of the rectangle exactly, in interval form; jumps only go
//! forward, so visiting instructions in order sees every state that reaches
//! each one. At every `ret #k` each arriving rectangle is checked against the
//! intervals. Nothing is sampled: every input is accounted for, which makes
//! this a proof, and it costs about one set operation per instruction on a
//! search tree.
//!
//! The bit-matching strategy computes `1 << (nr & 31)`. Registers therefore
//! hold a constant, arch, nr, or a function of the low bits of nr (`nr & m`
//! for `m = 2^j - 1 <= 31`, then any ALU steps, kept as a table of 2^j
//! values); a comparison of such a function splits the nr side by residue,
//! still exactly. `ld #k`, `tax`, `txa` and ALU with constants or X stay
//! inside the argument as long as the values do.
//!
//! Anything else (loads of `args` or the instruction pointer, scratch
//! memory, ALU on the whole of nr or arch, shifts by 32 or more, division by
//! zero) is outside the argument, and such a program is reported as
//! unprovable rather than trusted.

use crate::bpf::*;
use crate::emulate;
use crate::set::Decisions;

/// An upper bound on the pieces a set may hold before the proof gives up.
/// Only a bit test with bits above the low five (which no strategy emits)
/// can fragment a set; comparisons add at most one piece each.
const MAX_PIECES: usize = 1 << 16;

/// Residues modulo 32 as a bit mask: bit `r` stands for the numbers `x`
/// with `x % 32 == r`.
type Residues = u32;

/// Every residue.
const ALL: Residues = u32::MAX;

/// The residues of the numbers `lo..=hi`.
fn residues_of(lo: u32, hi: u32) -> Residues {
    if hi - lo >= 31 {
        return ALL;
    }
    // hi - lo + 1 consecutive residues from lo's, wrapping past 31.
    ((1u32 << (hi - lo + 1)) - 1).rotate_left(lo & 31)
}

/// The residues `r` with `r & k != 0`, for a `k` below 32.
fn residues_where(pred: impl Fn(u32) -> bool) -> Residues {
    (0..32).filter(|&r| pred(r)).fold(0, |m, r| m | 1 << r)
}

/// A piece of a set: the numbers of `lo..=hi` whose residue is in `res`.
type Piece = (u32, u32, Residues);

/// A set of numbers: sorted, disjoint pieces `(lo, hi, res)`, each the
/// numbers of `lo..=hi` whose residue modulo 32 is in `res` (never empty,
/// `res` holding only residues that occur in the range). Tests of the low
/// five bits of a number, which is all the bit-level strategies do, split
/// the residues and leave the ranges whole: a `jset #1` over a million
/// numbers is two pieces, not a million.
#[derive(Clone, Debug)]
struct Set(Pieces);

/// Up to [`FEW`] pieces are held inline: in a search tree almost every set
/// is one range, or two around a `jeq`'s number, and every split makes two
/// sets, so the proof would otherwise allocate twice per comparison. A set
/// of more pieces (mostly where many paths meet, at a return) is a list. The count is a
/// word, not a byte: a byte made every copy of a set read words across
/// the byte stored before it, which the processor cannot forward from a
/// store (perf: ~3% of the compile time of the x86 trio, in the proof).
#[derive(Clone, Debug)]
enum Pieces {
    Few(u32, [Piece; FEW]),
    Many(Vec<Piece>),
}

const FEW: usize = 3;

impl PartialEq for Set {
    fn eq(&self, other: &Set) -> bool {
        self.pieces() == other.pieces()
    }
}

impl Eq for Set {}

impl Set {
    fn all() -> Set {
        Set::from_pieces(vec![(0, u32::MAX, ALL)])
    }

    fn empty() -> Set {
        Set(Pieces::Few(0, [(0, 0, 0); FEW]))
    }

    /// `pieces` as they are: sorted, disjoint and not empty.
    fn from_pieces(pieces: Vec<Piece>) -> Set {
        let mut s = Set::empty();
        if pieces.len() > FEW {
            s.0 = Pieces::Many(pieces);
        } else {
            for p in pieces {
                s.append(p);
            }
        }
        s
    }

    fn pieces(&self) -> &[Piece] {
        match &self.0 {
            Pieces::Few(n, p) => &p[..*n as usize],
            Pieces::Many(v) => v,
        }
    }

    fn len(&self) -> usize {
        self.pieces().len()
    }

    fn is_empty(&self) -> bool {
        self.pieces().is_empty()
    }

    /// Appends `p` as it is, spilling to a list past [`FEW`]. Inlined: a
    /// piece passed in memory is read back as one word just after its
    /// halves were stored, which stalls store forwarding (perf).
    #[inline]
    fn append(&mut self, p: Piece) {
        match &mut self.0 {
            Pieces::Few(n, few) if (*n as usize) < FEW => {
                few[*n as usize] = p;
                *n += 1;
            }
            Pieces::Few(_, few) => {
                let mut v = Vec::with_capacity(4 * FEW);
                v.extend_from_slice(few);
                v.push(p);
                self.0 = Pieces::Many(v);
            }
            Pieces::Many(v) => v.push(p),
        }
    }

    /// Appends a piece above every piece held, dropping it if empty and
    /// joining it to the last one when they touch with the same residues.
    fn push(&mut self, lo: u32, hi: u32, res: Residues) {
        let last = match &mut self.0 {
            Pieces::Few(0, _) => None,
            Pieces::Few(n, p) => Some(&mut p[*n as usize - 1]),
            Pieces::Many(v) => v.last_mut(),
        };
        if let Some(piece) = after(last, lo, hi, res) {
            self.append(piece);
        }
    }

    /// Number of values, as u64 since the full set has 2^32.
    fn count(&self) -> u64 {
        // Numbers below `n` with residue `r`.
        let below = |n: u64, r: u64| if n <= r { 0 } else { (n - r - 1) / 32 + 1 };
        self.pieces()
            .iter()
            .map(|&(lo, hi, res)| {
                if res == ALL {
                    return (hi - lo) as u64 + 1;
                }
                (0..32u64)
                    .filter(|&r| res & (1 << r) != 0)
                    .map(|r| below(hi as u64 + 1, r) - below(lo as u64, r))
                    .sum()
            })
            .sum()
    }

    fn contains(&self, v: u32) -> bool {
        let p = self.pieces();
        let i = p.partition_point(|&(_, hi, _)| hi < v);
        i < p.len() && p[i].0 <= v && p[i].2 & (1 << (v & 31)) != 0
    }

    /// The members in ascending order.
    fn members(&self) -> impl Iterator<Item = u32> + '_ {
        self.pieces()
            .iter()
            .flat_map(|&(lo, hi, res)| (lo..=hi).filter(move |x| res & (1 << (x & 31)) != 0))
    }

    /// Splits into (values where the jump is taken, values where it is not).
    fn split(&self, code: u16, k: u32) -> Result<(Set, Set), String> {
        let (mut yes, mut no) = (Set::empty(), Set::empty());
        self.split_into(code, k, &mut yes, &mut no)?;
        Ok((yes, no))
    }

    /// [`Set::split`] into two empty sets given, where they are kept.
    fn split_into(&self, code: u16, k: u32, yes: &mut Set, no: &mut Set) -> Result<(), String> {
        // The residues a `jset` on the low five bits of `k` takes; only
        // bit tests read them.
        let low = if !matches!(op(code), BPF_JEQ | BPF_JGE | BPF_JGT) {
            residues_where(|r| r & k != 0)
        } else {
            0
        };
        for &(lo, hi, res) in self.pieces() {
            match op(code) {
                BPF_JEQ => {
                    if k < lo || k > hi {
                        no.push(lo, hi, res);
                    } else {
                        if k > lo {
                            no.push(lo, k - 1, res);
                        }
                        yes.push(k, k, res);
                        if k < hi {
                            no.push(k + 1, hi, res);
                        }
                    }
                }
                BPF_JGE | BPF_JGT => {
                    let (taken, not) = split_ordered(code, k, lo, hi);
                    if let Some((a, b)) = not {
                        no.push(a, b, res);
                    }
                    if let Some((a, b)) = taken {
                        yes.push(a, b, res);
                    }
                }
                _ if k & !31 == 0 => {
                    yes.push(lo, hi, res & low);
                    no.push(lo, hi, res & !low);
                }
                _ => split_bits(lo, hi, k & !31, |a, b, high| {
                    if high {
                        yes.push(a, b, res);
                    } else {
                        yes.push(a, b, res & low);
                        no.push(a, b, res & !low);
                    }
                    yes.len() + no.len() <= MAX_PIECES
                })?,
            }
            if yes.len() + no.len() > MAX_PIECES {
                return Err(format!(
                    "bit test {k:#x} fragments the inputs beyond {MAX_PIECES} pieces"
                ));
            }
        }
        Ok(())
    }

    /// The union of sets that hold no common member (inputs reaching one
    /// instruction by different paths): pieces may overlap with disjoint
    /// residues, so overlaps are cut where any piece starts or ends.
    fn union(mut pieces: Vec<Piece>) -> Set {
        sort_nearly_sorted(&mut pieces);
        let disjoint = pieces.windows(2).all(|w| w[0].1 < w[1].0);
        if disjoint {
            // What `push` does piece by piece, in the list itself: a set
            // of many pieces keeps the list rather than growing a new one.
            let mut n = 0usize;
            for k in 0..pieces.len() {
                let (lo, hi, res) = pieces[k];
                let last = n.checked_sub(1).map(|last| &mut pieces[last]);
                if let Some(piece) = after(last, lo, hi, res) {
                    pieces[n] = piece;
                    n += 1;
                }
            }
            pieces.truncate(n);
            return Set::from_pieces(pieces);
        }
        let mut out = Set::empty();
        // Sweep over the points where a piece starts or ends, holding how
        // many open pieces carry each residue.
        let mut events: Vec<(u64, bool, Residues)> = Vec::with_capacity(2 * pieces.len());
        for &(lo, hi, res) in &pieces {
            events.push((lo as u64, true, res));
            events.push((hi as u64 + 1, false, res));
        }
        events.sort_unstable_by_key(|e| e.0);
        let mut open = [0u32; 32];
        let mut i = 0;
        while i < events.len() {
            let at = events[i].0;
            while i < events.len() && events[i].0 == at {
                let (_, start, res) = events[i];
                for (r, n) in open.iter_mut().enumerate() {
                    if res & (1 << r) != 0 {
                        if start {
                            *n += 1
                        } else {
                            *n -= 1
                        }
                    }
                }
                i += 1;
            }
            if i < events.len() && at <= u32::MAX as u64 {
                let res = (0..32).filter(|&r| open[r] > 0).fold(0, |m, r| m | 1 << r);
                out.push(at as u32, (events[i].0 - 1) as u32, res);
            }
        }
        out
    }
}

/// Cuts `lo..=hi` into aligned blocks on which `x & mask != 0` is constant
/// (`mask` has no bit below 5, so blocks hold whole residue classes) and
/// hands each to `f(first, last, taken)`; `f` answers false to stop.
fn split_bits(
    lo: u32,
    hi: u32,
    mask: u32,
    mut f: impl FnMut(u32, u32, bool) -> bool,
) -> Result<(), String> {
    let mut budget = 64 * MAX_PIECES;
    let mut x = lo as u64;
    let end = hi as u64 + 1;
    while x < end {
        // Largest aligned block starting at x that fits.
        let mut size = if x == 0 {
            1u64 << 32
        } else {
            1u64 << x.trailing_zeros().min(32)
        };
        while x + size > end {
            size >>= 1;
        }
        // Shrink until the test is constant on [x, x + size).
        loop {
            let low = (size - 1) as u32;
            if mask & low == 0 || (x as u32) & mask & !low != 0 {
                break;
            }
            size >>= 1;
            budget -= 1;
            if budget == 0 {
                return Err(format!("bit test {mask:#x} fragments the inputs too much"));
            }
        }
        let (a, b) = (x as u32, (x + size - 1) as u32);
        if !f(a, b, a & mask != 0) {
            return Err(format!(
                "bit test {mask:#x} fragments the inputs beyond {MAX_PIECES} pieces"
            ));
        }
        x += size;
    }
    Ok(())
}

/// The numbers of `lo..=hi` with a residue in `res`, put after `last` (a
/// piece below them) the way a set holds them: `None` when they are none,
/// or when they join `last`, which is then extended; else the new piece,
/// its residues those the range has.
#[inline]
fn after(last: Option<&mut Piece>, lo: u32, hi: u32, res: Residues) -> Option<Piece> {
    let res = res & residues_of(lo, hi);
    if res == 0 {
        return None;
    }
    match last {
        Some(last) if last.1.checked_add(1) == Some(lo) && last.2 == res => {
            last.1 = hi;
            None
        }
        _ => Some((lo, hi, res)),
    }
}

/// Sorts `pieces`, fast when they are nearly in order: a return collects
/// its pieces in the order the search tree's leaves are laid out, which is
/// mostly ascending (the x86 trio's largest return: 101 of 102 neighbours
/// in order), and moving the few pieces out of place a few steps each
/// beats a full sort. Moves are budgeted, `MOVES` a piece, and past them
/// the full sort takes over.
fn sort_nearly_sorted(pieces: &mut [Piece]) {
    const MOVES: usize = 8;
    let mut budget = MOVES * pieces.len();
    for i in 1..pieces.len() {
        let x = pieces[i];
        let mut j = i;
        while j > 0 && pieces[j - 1] > x {
            if budget == 0 {
                pieces[j] = x;
                pieces.sort_unstable();
                return;
            }
            budget -= 1;
            pieces[j] = pieces[j - 1];
            j -= 1;
        }
        pieces[j] = x;
    }
}

/// What a register holds, as a function of the inputs. Small and `Copy`:
/// tables and arch sets live in [`Symbols`], so moving a rectangle from
/// one instruction to the next copies a few words and frees nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Val {
    Const(u32),
    Arch,
    Nr,
    /// `table[nr & (table.len() - 1)]` for the table at this index of
    /// [`Symbols::tables`]: a function of the low bits of `nr`, as
    /// `1 << (nr & 31)` is.
    Low(u32),
}

/// Widest low-bit function followed: `nr & 31`, a function of the residue
/// modulo 32 (the bits strategy computes `1 << (nr & 31)`).
const MAX_LOW: u32 = 31;

/// What rectangles refer to by index: the tables of [`Val::Low`], the
/// arch sides (most splits are on nr, and every one keeps the arch side)
/// and the nr sides. Tables and arch sides are only added to during one
/// proof; an nr side belongs to one rectangle and is emptied when the
/// rectangle is taken on. A split writes its two sets where they stay, and
/// a rectangle moves as a few words: moving whole sets just written cost
/// more than the splits themselves.
struct Symbols {
    tables: Vec<Vec<u32>>,
    archs: Vec<Set>,
    nrs: Vec<Set>,
}

impl Symbols {
    fn nr(&mut self, s: Set) -> u32 {
        self.nrs.push(s);
        (self.nrs.len() - 1) as u32
    }

    /// Takes nr side `i` away from its rectangle.
    fn take_nr(&mut self, i: u32) -> Set {
        std::mem::replace(&mut self.nrs[i as usize], Set::empty())
    }

    fn table(&mut self, t: Vec<u32>) -> Val {
        self.tables.push(t);
        Val::Low((self.tables.len() - 1) as u32)
    }

    fn arch(&mut self, s: Set) -> u32 {
        self.archs.push(s);
        (self.archs.len() - 1) as u32
    }

    /// Whether two values are the same function of the inputs.
    fn same(&self, a: Val, b: Val) -> bool {
        match (a, b) {
            (Val::Low(t), Val::Low(u)) => {
                t == u || self.tables[t as usize] == self.tables[u as usize]
            }
            _ => a == b,
        }
    }

    fn same_arch(&self, a: u32, b: u32) -> bool {
        a == b || self.archs[a as usize] == self.archs[b as usize]
    }
}

fn alu(op: u16, a: u32, b: u32) -> Option<u32> {
    Some(match op {
        BPF_ADD => a.wrapping_add(b),
        BPF_SUB => a.wrapping_sub(b),
        BPF_MUL => a.wrapping_mul(b),
        BPF_DIV => a.checked_div(b)?,
        BPF_AND => a & b,
        BPF_OR => a | b,
        BPF_XOR => a ^ b,
        // Shifts by 32 or more are left out of the argument.
        BPF_LSH => a.checked_shl(b)?,
        BPF_RSH => a.checked_shr(b)?,
        BPF_NEG => a.wrapping_neg(),
        _ => return None,
    })
}

/// Splits nr side `i` of `nrs` (taken) into two new ones by `split`.
fn split_nr(
    nrs: &mut Vec<Set>,
    i: u32,
    split: impl FnOnce(&Set, &mut Set, &mut Set) -> Result<(), String>,
) -> Result<(u32, u32), String> {
    let from = std::mem::replace(&mut nrs[i as usize], Set::empty());
    let at = nrs.len();
    // Made in place: a pair of empty sets made on the stack and copied
    // was read back in wider words than it was written (perf).
    nrs.resize_with(at + 2, Set::empty);
    let [yes, no] = &mut nrs[at..] else {
        unreachable!("two sets were just added")
    };
    split(&from, yes, no)?;
    Ok((at as u32, at as u32 + 1))
}

/// `a op b` on symbolic values, where the argument covers it.
fn alu_val(op: u16, a: Val, b: Val, sym: &mut Symbols) -> Option<Val> {
    let table = |v: Val, sym: &Symbols| match v {
        Val::Low(t) => Some(sym.tables[t as usize].clone()),
        _ => None,
    };
    let t = match (a, b) {
        (Val::Const(x), Val::Const(y)) => return alu(op, x, y).map(Val::Const),
        (Val::Nr, Val::Const(m)) if op == BPF_AND && m <= MAX_LOW && (m + 1).is_power_of_two() => {
            (0..=m).collect()
        }
        (Val::Low(_), Val::Const(y)) => table(a, sym)?
            .into_iter()
            .map(|v| alu(op, v, y))
            .collect::<Option<Vec<u32>>>()?,
        (Val::Const(x), Val::Low(_)) => table(b, sym)?
            .into_iter()
            .map(|v| alu(op, x, v))
            .collect::<Option<Vec<u32>>>()?,
        (Val::Low(t), Val::Low(u))
            if sym.tables[t as usize].len() == sym.tables[u as usize].len() =>
        {
            let (t, u) = (&sym.tables[t as usize], &sym.tables[u as usize]);
            t.iter()
                .zip(u)
                .map(|(&v, &w)| alu(op, v, w))
                .collect::<Option<Vec<u32>>>()?
        }
        _ => return None,
    };
    Some(sym.table(t))
}

/// Splits `set` by a predicate on `table[nr & (len - 1)]`, a function of
/// the residue modulo 32: the residues split, the ranges stay whole.
fn split_low(set: &Set, table: &[u32], pred: impl Fn(u32) -> bool, yes: &mut Set, no: &mut Set) {
    let len = table.len() as u32;
    let taken = residues_where(|r| pred(table[(r % len) as usize]));
    for &(lo, hi, res) in set.pieces() {
        yes.push(lo, hi, res & taken);
        no.push(lo, hi, res & !taken);
    }
}

/// Inputs reaching an instruction, and what the registers hold for them.
/// Not `Copy`: its nr side has one owner.
#[derive(Clone, Debug)]
struct Rect {
    acc: Val,
    x: Val,
    /// The arch side: an index of [`Symbols::archs`].
    arch: u32,
    /// The nr side: an index of [`Symbols::nrs`].
    nr: u32,
}

/// Proves `prog` equivalent to `d`; the error says why it is not, or why the
/// argument does not apply.
pub fn verify(prog: &[Insn], d: &Decisions) -> Result<(), String> {
    emulate::check(prog).map_err(|e| format!("kernel would reject it: {e}"))?;
    prove(prog, d)
}

/// [`verify`] for a program that passed `emulate::check`, without checking
/// it again: the proof relies on every jump landing inside the program and
/// no path running off its end (it would panic, not accept), and it does
/// not look at the length limit.
pub(crate) fn prove(prog: &[Insn], d: &Decisions) -> Result<(), String> {
    let mut sym = Symbols {
        tables: Vec::new(),
        archs: vec![Set::all()],
        nrs: Vec::with_capacity(2 * prog.len() + 1),
    };
    let all = sym.nr(Set::all());
    let mut pending = Pending::new(prog);
    pending.push(
        0,
        Rect {
            acc: Val::Const(0),
            x: Val::Const(0),
            arch: 0,
            nr: all,
        },
    );
    for (pc, &insn) in prog.iter().enumerate() {
        let rects = pending.take(pc, &mut sym);
        let unprovable = || {
            format!(
                "cannot prove: instruction {pc} has opcode {:#06x}",
                insn.code
            )
        };
        for r in rects {
            match insn.code {
                c if c == BPF_LD | BPF_W | BPF_ABS => {
                    let acc = match insn.k {
                        SECCOMP_DATA_NR => Val::Nr,
                        SECCOMP_DATA_ARCH => Val::Arch,
                        k => {
                            return Err(format!("cannot prove: instruction {pc} loads offset {k}"))
                        }
                    };
                    pending.push(pc + 1, Rect { acc, ..r });
                }
                c if c == BPF_LD | BPF_W | BPF_IMM => pending.push(
                    pc + 1,
                    Rect {
                        acc: Val::Const(insn.k),
                        ..r
                    },
                ),
                c if c == BPF_MISC | BPF_TAX => pending.push(pc + 1, Rect { x: r.acc, ..r }),
                c if c == BPF_MISC | BPF_TXA => pending.push(pc + 1, Rect { acc: r.x, ..r }),
                c if class(c) == BPF_ALU => {
                    let operand = if src(c) == BPF_X {
                        r.x
                    } else {
                        Val::Const(insn.k)
                    };
                    let acc = alu_val(op(c), r.acc, operand, &mut sym).ok_or_else(unprovable)?;
                    pending.push(pc + 1, Rect { acc, ..r });
                }
                c if c == BPF_RET | BPF_K => check_ret(&r, insn.k, d, &mut sym)
                    .map_err(|e| format!("instruction {pc}: {e}"))?,
                c if c == BPF_RET | BPF_A => match r.acc {
                    Val::Const(k) => check_ret(&r, k, d, &mut sym)
                        .map_err(|e| format!("instruction {pc}: {e}"))?,
                    _ => return Err(unprovable()),
                },
                c if c == BPF_JMP | BPF_JA => pending.push(pc + 1 + insn.k as usize, r),
                c if class(c) == BPF_JMP => {
                    let (t, f) = (pc + 1 + insn.jt as usize, pc + 1 + insn.jf as usize);
                    let k = if src(c) == BPF_X {
                        match r.x {
                            Val::Const(k) => k,
                            _ => return Err(unprovable()),
                        }
                    } else {
                        insn.k
                    };
                    let code = c & !BPF_X;
                    let (yes, no) = match r.acc {
                        Val::Const(v) => {
                            let taken = jump_taken(code, v, k);
                            pending.push(if taken { t } else { f }, r);
                            continue;
                        }
                        Val::Arch => {
                            let (yes, no) = sym.archs[r.arch as usize].split(code, k)?;
                            let arch = match (yes.is_empty(), no.is_empty()) {
                                (true, true) => continue,
                                (true, false) => (u32::MAX, r.arch),
                                (false, true) => (r.arch, u32::MAX),
                                (false, false) => (sym.arch(yes), sym.arch(no)),
                            };
                            // Each rectangle owns its nr side.
                            let nr = sym.nrs[r.nr as usize].clone();
                            let yes = Rect {
                                arch: arch.0,
                                nr: sym.nr(nr),
                                ..r
                            };
                            (yes, Rect { arch: arch.1, ..r })
                        }
                        Val::Nr => {
                            let (yes, no) = split_nr(&mut sym.nrs, r.nr, |s, yes, no| {
                                s.split_into(code, k, yes, no)
                            })?;
                            (Rect { nr: yes, ..r }, Rect { nr: no, ..r })
                        }
                        Val::Low(table) => {
                            let Symbols { tables, nrs, .. } = &mut sym;
                            let table = &tables[table as usize];
                            let (yes, no) = split_nr(nrs, r.nr, |s, yes, no| {
                                split_low(s, table, |v| jump_taken(code, v, k), yes, no);
                                Ok(())
                            })?;
                            (Rect { nr: yes, ..r }, Rect { nr: no, ..r })
                        }
                    };
                    // An empty arch side is `u32::MAX`, never pushed.
                    if yes.arch != u32::MAX && !sym.nrs[yes.nr as usize].is_empty() {
                        pending.push(t, yes);
                    }
                    if no.arch != u32::MAX && !sym.nrs[no.nr as usize].is_empty() {
                        pending.push(f, no);
                    }
                }
                _ => return Err(unprovable()),
            }
        }
    }
    Ok(())
}

/// The rectangles waiting at each instruction. Most instructions of a
/// tree are reached by one path: the first rectangle has its own slot, so
/// that only instructions reached by several (the returns, shared tails)
/// allocate a list.
struct Pending {
    first: Vec<Option<Rect>>,
    more: Vec<Vec<Rect>>,
    /// Jumps to each instruction: a list is made at that size, since a
    /// return reached by a hundred paths grew its list six times.
    jumps_to: Vec<u32>,
}

impl Pending {
    fn new(prog: &[Insn]) -> Pending {
        let mut jumps_to = vec![0u32; prog.len()];
        for (pc, i) in prog.iter().enumerate() {
            if class(i.code) == BPF_JMP {
                for t in i.targets(pc).filter(|&t| t < prog.len()) {
                    jumps_to[t] += 1;
                }
            }
        }
        Pending {
            first: vec![None; prog.len()],
            more: vec![Vec::new(); prog.len()],
            jumps_to,
        }
    }

    fn push(&mut self, pc: usize, r: Rect) {
        match &mut self.first[pc] {
            slot @ None => *slot = Some(r),
            Some(_) => {
                let more = &mut self.more[pc];
                if more.capacity() == 0 {
                    // Room for the first one too, which `take` puts in front.
                    more.reserve(self.jumps_to[pc] as usize + 1);
                }
                more.push(r)
            }
        }
    }

    /// The rectangles reaching `pc`, in arrival order, merged.
    fn take(
        &mut self,
        pc: usize,
        sym: &mut Symbols,
    ) -> std::iter::Chain<std::option::IntoIter<Rect>, std::vec::IntoIter<Rect>> {
        let first = self.first[pc].take();
        let mut more = std::mem::take(&mut self.more[pc]);
        if more.is_empty() {
            return first.into_iter().chain(more);
        }
        more.splice(0..0, first);
        None.into_iter().chain(merge(more, sym))
    }
}

/// Rectangles reaching one instruction with the same accumulator and the
/// same arch set become one, so a tree's merge points do not multiply work.
fn merge(rects: Vec<Rect>, sym: &mut Symbols) -> Vec<Rect> {
    if rects.len() < 2 {
        return rects;
    }
    // Group first, then sort each group's pieces once: merging pairwise
    // would be quadratic at a return that hundreds of paths reach. A
    // group's pieces are counted before they are gathered, so that its
    // list is made at its size once (grown, they were a fifth of the
    // proof's allocations).
    let mut out: Vec<Rect> = Vec::with_capacity(rects.len());
    let group: Vec<usize> = rects
        .iter()
        .map(|r| {
            let same = |o: &Rect| {
                sym.same(o.acc, r.acc) && sym.same(o.x, r.x) && sym.same_arch(o.arch, r.arch)
            };
            out.iter().position(same).unwrap_or_else(|| {
                out.push(r.clone());
                out.len() - 1
            })
        })
        .collect();
    for (g, o) in out.iter_mut().enumerate() {
        let members = || {
            rects
                .iter()
                .zip(&group)
                .filter(|&(_, &h)| h == g)
                .map(|(r, _)| r)
        };
        // A rectangle alone in its group keeps its set as it is.
        if members().nth(1).is_none() {
            continue;
        }
        let size = members().map(|r| sym.nrs[r.nr as usize].len()).sum();
        let mut pieces = Vec::with_capacity(size);
        for r in members() {
            pieces.extend_from_slice(sym.take_nr(r.nr).pieces());
        }
        o.nr = sym.nr(Set::union(pieces));
    }
    out
}

/// Every (arch, nr) of the rectangle must be specified as `k`.
fn check_ret(r: &Rect, k: u32, d: &Decisions, sym: &mut Symbols) -> Result<(), String> {
    // The rectangle ends here: its nr side is no longer needed.
    let nr = sym.take_nr(r.nr);
    let arch = &sym.archs[r.arch as usize];
    let mut listed = 0u64;
    for a in &d.archs {
        if !arch.contains(a.arch) {
            continue;
        }
        listed += 1;
        // Pieces and intervals both ascend: one walk over the two, not a
        // search per piece (a return collects the pieces of many paths).
        let mut i = 0;
        for &(lo, hi, res) in nr.pieces() {
            while a.intervals[i].hi < lo {
                i += 1;
            }
            loop {
                let iv = a.intervals[i];
                if iv.action != k {
                    // The first member of the piece in this interval.
                    let (from, to) = (iv.lo.max(lo), iv.hi.min(hi));
                    let member = (from..=to).take(32).find(|x| res & (1 << (x & 31)) != 0);
                    if let Some(nr) = member {
                        return Err(format!(
                            "returns {k:#x} for arch {:#x} nr {nr} but {:#x} is specified",
                            a.arch, iv.action
                        ));
                    }
                }
                if iv.hi >= hi {
                    break;
                }
                i += 1;
            }
        }
    }
    if arch.count() > listed && d.other_arch != k {
        let other = arch.members().find(|x| d.arch(*x).is_none());
        return Err(format!(
            "returns {k:#x} for unlisted arch {:#x} but {:#x} is specified",
            other.unwrap_or_default(),
            d.other_arch
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf::asm::{j, ld, ret};
    use crate::spec::{Options, Personality};

    const T: u32 = SECCOMP_RET_TRACE;
    const A: u32 = SECCOMP_RET_ALLOW;

    fn decisions(bits: &[u8], n: u32) -> Decisions {
        let p = Personality {
            audit_arch: 9,
            nr_flag: 0,
            traced: bits,
            nsyscalls: n,
        };
        Decisions::new(&[p], &Options::default()).unwrap()
    }

    #[test]
    fn proves_a_correct_program() {
        // traced: 1 and 3 of 0..8; everything else of arch 9 and other arches traced.
        let d = decisions(&[0b1010], 8);
        let p = [
            ld(SECCOMP_DATA_ARCH),
            j(BPF_JEQ, 9, 1, 0),
            ret(T),
            ld(SECCOMP_DATA_NR),
            j(BPF_JGE, 8, 3, 0),
            j(BPF_JEQ, 1, 2, 0),
            j(BPF_JEQ, 3, 1, 0),
            ret(A),
            ret(T),
        ];
        verify(&p, &d).unwrap();
        // Same logic by bit test: numbers 1 and 3 are the odd ones below 4,
        // and 5, 7 must be told apart.
        let p = [
            ld(SECCOMP_DATA_ARCH),
            j(BPF_JEQ, 9, 1, 0),
            ret(T),
            ld(SECCOMP_DATA_NR),
            j(BPF_JGE, 4, 3, 0),
            j(BPF_JSET, 1, 1, 0),
            ret(A),
            ret(T),
            j(BPF_JGE, 8, 2, 0),
            j(BPF_JSET, 0, 0, 0),
            ret(A),
            ret(T),
        ];
        check(&p);
        verify(&p, &d).unwrap();
    }

    fn check(p: &[Insn]) {
        emulate::check(p).unwrap();
    }

    #[test]
    fn finds_the_wrong_corner() {
        let d = decisions(&[0b1010], 8);
        // Off by one at the top: 8 is unknown (traced) but falls into the tree.
        let p = [
            ld(SECCOMP_DATA_ARCH),
            j(BPF_JEQ, 9, 1, 0),
            ret(T),
            ld(SECCOMP_DATA_NR),
            j(BPF_JGT, 8, 3, 0),
            j(BPF_JEQ, 1, 2, 0),
            j(BPF_JEQ, 3, 1, 0),
            ret(A),
            ret(T),
        ];
        let e = verify(&p, &d).unwrap_err();
        assert!(e.contains("nr 8"), "{e}");
        // Wrong action for a foreign arch.
        let p = [ld(SECCOMP_DATA_ARCH), j(BPF_JEQ, 9, 1, 0), ret(A), ret(T)];
        let e = verify(&p, &d).unwrap_err();
        assert!(e.contains("unlisted arch"), "{e}");
        // Loads of arguments are outside the argument.
        let p = [ld(SECCOMP_DATA_ARGS), ret(T)];
        assert!(verify(&p, &d).unwrap_err().contains("cannot prove"));
    }

    #[test]
    fn residues_of_a_range_are_its_numbers_residues() {
        for lo in (0..100u32).chain(u32::MAX - 70..=u32::MAX - 40) {
            for hi in lo..lo.saturating_add(40) {
                let want = (lo..=hi).fold(0u32, |m, x| m | 1 << (x & 31));
                assert_eq!(residues_of(lo, hi), want, "{lo}..={hi}");
            }
        }
        assert_eq!(residues_of(u32::MAX - 3, u32::MAX), 0xf000_0000);
    }

    #[test]
    fn nearly_sorted_pieces_sort_as_any_others() {
        let mut next = crate::testing::xorshift32(0x2545_f491);
        for round in 0..400 {
            let n = (next() % 300) as usize;
            let mut p: Vec<Piece> = (0..n as u32).map(|i| (i * 3, i * 3 + 1, ALL)).collect();
            match round % 4 {
                // A few out of place, as at a return.
                0 => {
                    for _ in 0..n / 20 {
                        let (a, b) = (next() as usize % n, next() as usize % n);
                        p.swap(a, b);
                    }
                }
                1 => p.reverse(),
                2 => p.iter_mut().for_each(|q| q.0 = next() % 50),
                // Two sorted halves, the upper first.
                _ => p.rotate_left(n / 2),
            }
            let mut want = p.clone();
            want.sort_unstable();
            sort_nearly_sorted(&mut p);
            assert_eq!(p, want, "round {round}");
        }
    }

    #[test]
    fn bit_split_is_exact() {
        for (lo, hi, mask) in [
            (0u32, 100u32, 4u32),
            (5, 77, 0x11),
            (0, u32::MAX, 0x8000_0000),
            (3, 3, 1),
            (0, 1 << 20, 1),
            (7, 70_001, 0x30),
        ] {
            let set = Set::from_pieces(vec![(lo, hi, residues_of(lo, hi))]);
            let (yes, no) = set.split(BPF_JMP | BPF_JSET | BPF_K, mask).unwrap();
            assert_eq!(yes.count() + no.count(), (hi - lo) as u64 + 1);
            // The low five bits split residues, not ranges.
            if mask < 32 {
                assert!(yes.len() + no.len() <= 4, "{mask:#x}");
            }
            for x in (lo..=hi).step_by(((hi - lo) / 1000).max(1) as usize) {
                assert_eq!(yes.contains(x), x & mask != 0);
                assert_eq!(no.contains(x), x & mask == 0);
            }
        }
    }

    #[test]
    fn residue_sets_count_join_and_list_exactly() {
        // Pieces over small ranges: compare with the plain sets of members.
        let mut next = crate::testing::xorshift32(0x1234_5678);
        for _ in 0..300 {
            let mut pieces = Vec::new();
            let mut want = std::collections::BTreeSet::new();
            for _ in 0..next() % 6 {
                let lo = next() % 300;
                let hi = lo + next() % 80;
                let res = next() & next();
                // Members disjoint from the ones held, as the union requires.
                let res = (lo..=hi)
                    .filter(|v| res & (1 << (v & 31)) != 0 && !want.contains(v))
                    .fold(0u32, |m, v| m | 1 << (v & 31));
                let mut piece = Set::empty();
                piece.push(lo, hi, res);
                let members: Vec<u32> = piece.members().collect();
                if members.iter().any(|v| want.contains(v)) {
                    continue;
                }
                want.extend(members);
                pieces.extend_from_slice(piece.pieces());
            }
            let set = Set::union(pieces);
            let got: Vec<u32> = set.members().collect();
            assert_eq!(got, want.iter().copied().collect::<Vec<_>>());
            assert_eq!(set.count(), want.len() as u64);
            for v in 0..400 {
                assert_eq!(set.contains(v), want.contains(&v), "{v}");
            }
            assert!(set.pieces().windows(2).all(|w| w[0].1 < w[1].0));
        }
    }
}
