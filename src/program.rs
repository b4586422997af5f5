//! The labelled program: an immutable DAG of instructions whose jump targets
//! are nodes, not offsets.
//!
//! Strategies build it bottom-up, successors before the instructions that
//! reach them. Nodes are hash-consed, so an identical tail (the same
//! instruction with the same successors) exists once and every strategy gets
//! tail sharing for free; a conditional jump whose two targets are the same
//! node is no jump at all and is never created.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::bpf::*;
use crate::clone_guard::Guard;

pub type NodeId = u32;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Node {
    /// `ret #k`.
    Ret(u32),
    /// A non-branching instruction, then `next`.
    Stmt { code: u16, k: u32, next: NodeId },
    /// A conditional jump (`BPF_JMP` class, not `BPF_JA`).
    Jump {
        code: u16,
        k: u32,
        jt: NodeId,
        jf: NodeId,
    },
}

/// Multiply-rotate hashing (as in rustc's FxHash): nodes are a few small
/// integers and never attacker-chosen keys, and SipHash was a fifth of the
/// compile time.
#[derive(Default)]
pub(crate) struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.write_u64(i as u64)
    }
    fn write_u16(&mut self, i: u16) {
        self.write_u64(i as u64)
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(i as u64)
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64)
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) type FxBuild = BuildHasherDefault<FxHasher>;

#[derive(Default, Debug)]
pub struct Graph {
    nodes: Vec<Node>,
    index: HashMap<Node, NodeId, FxBuild>,
    guards: Vec<Guard>,
    /// The first few returns made, by value: every leaf of a tree asks
    /// for one of a handful of returns, and a short scan costs less than
    /// hashing. Bounded, since action maps may have many values.
    rets: Vec<(u32, NodeId)>,
}

/// Returns kept in [`Graph::rets`].
const RETS: usize = 8;

impl Graph {
    #[cfg(test)]
    pub fn new() -> Self {
        Graph::default()
    }

    /// A graph in which `ret` of a guard's sentinel is the guard's test.
    pub fn with_guards(guards: &[Guard]) -> Self {
        Graph {
            guards: guards.to_vec(),
            ..Graph::default()
        }
    }

    pub fn node(&self, id: NodeId) -> Node {
        self.nodes[id as usize]
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Room for `n` more nodes, so that a strategy that knows its size
    /// does not rehash the index as it grows.
    pub fn reserve(&mut self, n: usize) {
        self.nodes.reserve(n);
        self.index.reserve(n);
    }

    fn intern(&mut self, node: Node) -> NodeId {
        // One hash per node, found or added.
        let nodes = &mut self.nodes;
        *self.index.entry(node).or_insert_with(|| {
            nodes.push(node);
            (nodes.len() - 1) as NodeId
        })
    }

    pub fn ret(&mut self, k: u32) -> NodeId {
        if let Some(g) = self.guards.iter().find(|g| g.sentinel == k).copied() {
            let (hit, miss) = (self.ret(g.hit), self.ret(g.miss));
            let test = self.jump(BPF_JMP | BPF_JSET | BPF_K, g.mask, hit, miss);
            return self.load(g.offset, test);
        }
        if let Some(&(_, id)) = self.rets.iter().find(|r| r.0 == k) {
            return id;
        }
        let id = self.intern(Node::Ret(k));
        if self.rets.len() < RETS {
            self.rets.push((k, id));
        }
        id
    }

    /// A straight-line instruction; dropped when `next` is `ret #k`, which
    /// reads no register or scratch word it could have changed.
    pub fn stmt(&mut self, code: u16, k: u32, next: NodeId) -> NodeId {
        debug_assert!(class(code) != BPF_JMP && class(code) != BPF_RET);
        if let Node::Ret(_) = self.node(next) {
            return next;
        }
        self.intern(Node::Stmt { code, k, next })
    }

    /// A conditional jump; collapses to `jt` when both targets agree.
    pub fn jump(&mut self, code: u16, k: u32, jt: NodeId, jf: NodeId) -> NodeId {
        debug_assert!(class(code) == BPF_JMP && op(code) != BPF_JA);
        if jt == jf {
            return jt;
        }
        self.intern(Node::Jump { code, k, jt, jf })
    }

    /// `ld [offset]` from `seccomp_data`, then `next`.
    pub fn load(&mut self, offset: u32, next: NodeId) -> NodeId {
        self.stmt(BPF_LD | BPF_W | BPF_ABS, offset, next)
    }

    pub fn jeq(&mut self, k: u32, jt: NodeId, jf: NodeId) -> NodeId {
        self.jump(BPF_JMP | BPF_JEQ | BPF_K, k, jt, jf)
    }

    pub fn jge(&mut self, k: u32, jt: NodeId, jf: NodeId) -> NodeId {
        self.jump(BPF_JMP | BPF_JGE | BPF_K, k, jt, jf)
    }

    pub fn jgt(&mut self, k: u32, jt: NodeId, jf: NodeId) -> NodeId {
        self.jump(BPF_JMP | BPF_JGT | BPF_K, k, jt, jf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_tails_are_one_node() {
        let mut g = Graph::new();
        let t = g.ret(1);
        let a = g.ret(2);
        let x = g.jeq(5, t, a);
        let y = g.jeq(5, t, a);
        assert_eq!(x, y);
        assert_eq!(g.jeq(6, a, a), a);
        assert_eq!(g.len(), 3);
    }
}
