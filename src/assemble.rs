//! Layout: turns a labelled program into a `sock_filter` array.
//!
//! Approach. The program is emitted back to front. Nodes are taken in DFS
//! post-order from the root, so every instruction is emitted after (that is,
//! placed before) all of its successors and every jump goes forward. Offsets
//! are known at emission time because the targets are already placed.
//!
//! * A conditional jump whose target is more than 255 instructions away goes
//!   through a `ja` trampoline placed just before it; a trampoline already
//!   placed within range of the jump is reused. Nothing is ever refused for
//!   jump distance.
//! * Returns are not placed in DFS order. A jump to `ret #k` uses the nearest
//!   copy of it within range, or a new copy placed right there: a copy costs
//!   what a trampoline costs in size, and one executed instruction less.
//! * A straight-line instruction whose successor is not the next one placed
//!   gets a `ja` (or a copy of the return) in between.
//!
//! Known weaknesses: the DFS order puts a node's `jf` subtree right after it
//! and its `jt` subtree after that, whatever their sizes; trampolines are
//! placed where the first out-of-range jump needs them rather than where they
//! would serve the most jumps; and a shared subgraph is placed once, where
//! the DFS first finishes it, however far its other users are.

use crate::bpf::*;
use crate::error::{Error, Result};
use crate::program::{Graph, Node, NodeId};

pub fn assemble(g: &Graph, root: NodeId) -> Result<Vec<Insn>> {
    // Sized for every node once, so that no table grows while placing.
    let n = g.len();
    let mut layout = Layout {
        g,
        out: Vec::with_capacity(n),
        placed: vec![NOWHERE; n],
        nearest: vec![NOWHERE; n],
    };
    if let Node::Ret(k) = g.node(root) {
        return Ok(vec![Insn::stmt(BPF_RET | BPF_K, k)]);
    }
    for id in post_order(g, root) {
        layout.place(id)?;
    }
    let mut prog = layout.out;
    prog.reverse();
    Ok(prog)
}

/// Non-return nodes reachable from `root`, successors first.
fn post_order(g: &Graph, root: NodeId) -> Vec<NodeId> {
    // Sized for every node at once: grown, these were most of layout's
    // allocations.
    let mut order = Vec::with_capacity(g.len());
    let mut seen = vec![false; g.len()];
    // (node, successors already pushed)
    let mut stack = Vec::with_capacity(2 * g.len() + 1);
    stack.push((root, false));
    while let Some((id, expanded)) = stack.pop() {
        if expanded {
            order.push(id);
            continue;
        }
        if seen[id as usize] {
            continue;
        }
        seen[id as usize] = true;
        let succ: &[NodeId] = match &g.node(id) {
            Node::Ret(_) => continue,
            Node::Stmt { next, .. } => &[*next],
            Node::Jump { jt, jf, .. } => &[*jf, *jt],
        };
        stack.push((id, true));
        // Pushed in reverse, so `jt` is finished first and `jf` last, right
        // before this node: `jf` ends up adjacent to it.
        for &s in succ.iter() {
            if !seen[s as usize] {
                stack.push((s, false));
            }
        }
    }
    order
}

/// A node not placed (yet): positions are below `BPF_MAXINSNS`.
const NOWHERE: usize = usize::MAX;

/// Node ids are dense indices into the graph, so per-node positions are
/// plain vectors indexed by id.
struct Layout<'g> {
    g: &'g Graph,
    /// Instructions in reverse program order; an index here is a position
    /// counted from the end of the program.
    out: Vec<Insn>,
    /// Where each non-return node was placed, or `NOWHERE`.
    placed: Vec<usize>,
    /// The latest position of an instruction equivalent to the node: the
    /// node itself, a trampoline to it, or a copy of the return; or
    /// `NOWHERE`.
    nearest: Vec<usize>,
}

impl Layout<'_> {
    fn cur(&self) -> usize {
        self.out.len()
    }

    fn emit(&mut self, insn: Insn) -> Result<usize> {
        if self.out.len() >= BPF_MAXINSNS {
            return Err(Error::TooLarge(format!(
                "layout exceeds {BPF_MAXINSNS} instructions"
            )));
        }
        self.out.push(insn);
        Ok(self.out.len() - 1)
    }

    /// Distance from the instruction about to be placed to the target's
    /// nearest equivalent, if there is one within `max`.
    fn reach(&self, target: NodeId, max: usize) -> Option<usize> {
        let pos = self.nearest[target as usize];
        if pos == NOWHERE {
            return None;
        }
        let dist = self.cur() - pos - 1;
        (dist <= max).then_some(dist)
    }

    /// Places an instruction equivalent to `target` right here: a copy of a
    /// return, or a trampoline to the placed node.
    fn bridge(&mut self, target: NodeId) -> Result<()> {
        let insn = match self.g.node(target) {
            Node::Ret(k) => Insn::stmt(BPF_RET | BPF_K, k),
            _ => {
                let at = self.placed[target as usize];
                Insn::stmt(BPF_JMP | BPF_JA, (self.cur() - at - 1) as u32)
            }
        };
        let pos = self.emit(insn)?;
        self.nearest[target as usize] = pos;
        Ok(())
    }

    fn place(&mut self, id: NodeId) -> Result<()> {
        let insn = match self.g.node(id) {
            Node::Ret(_) => unreachable!("returns are placed on demand"),
            Node::Stmt { code, k, next } => {
                if self.reach(next, 0).is_none() {
                    self.bridge(next)?;
                }
                Insn::stmt(code, k)
            }
            Node::Jump { code, k, jt, jf } => loop {
                match (self.reach(jt, 255), self.reach(jf, 255)) {
                    (Some(t), Some(f)) => break Insn::jump(code, k, t as u8, f as u8),
                    (None, _) => self.bridge(jt)?,
                    (_, None) => self.bridge(jf)?,
                }
            },
        };
        let pos = self.emit(insn)?;
        self.placed[id as usize] = pos;
        self.nearest[id as usize] = pos;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulate::{check, run, SeccompData};

    #[test]
    fn long_jumps_get_trampolines_and_return_copies() {
        // A chain of 600 equality tests: each one's `jt` return is shared
        // and quickly out of range.
        let mut g = Graph::new();
        let allow = g.ret(SECCOMP_RET_ALLOW);
        let trace = g.ret(SECCOMP_RET_TRACE);
        let mut next = allow;
        for nr in (0..600).rev() {
            next = g.jeq(nr * 2, trace, next);
        }
        let root = g.load(SECCOMP_DATA_NR, next);
        let prog = assemble(&g, root).unwrap();
        check(&prog).unwrap();
        for nr in 0..1300 {
            let want = if nr % 2 == 0 && nr < 1200 {
                SECCOMP_RET_TRACE
            } else {
                SECCOMP_RET_ALLOW
            };
            assert_eq!(run(&prog, &SeccompData::new(0, nr)).action, want, "nr {nr}");
        }
        // 601 instructions, plus a few copies of `ret TRACE`.
        assert!(prog.len() < 610, "{}", prog.len());
    }

    #[test]
    fn far_shared_subtree_is_reached_through_ja() {
        let mut g = Graph::new();
        let allow = g.ret(SECCOMP_RET_ALLOW);
        let trace = g.ret(SECCOMP_RET_TRACE);
        // A shared subtree, then 300 tests in front of it that all reach it.
        let shared = g.jeq(7, trace, allow);
        let shared = g.load(SECCOMP_DATA_NR, shared);
        let mut next = g.ret(SECCOMP_RET_KILL_PROCESS);
        for arch in 0..300 {
            next = g.jeq(1000 + arch, shared, next);
        }
        let root = g.load(SECCOMP_DATA_ARCH, next);
        let prog = assemble(&g, root).unwrap();
        check(&prog).unwrap();
        assert!(prog.iter().any(|i| i.code == BPF_JMP | BPF_JA));
        assert_eq!(
            run(&prog, &SeccompData::new(0, 7)).action,
            SECCOMP_RET_KILL_PROCESS
        );
        for arch in [1000, 1150, 1299] {
            assert_eq!(
                run(&prog, &SeccompData::new(arch, 7)).action,
                SECCOMP_RET_TRACE
            );
            assert_eq!(
                run(&prog, &SeccompData::new(arch, 8)).action,
                SECCOMP_RET_ALLOW
            );
        }
    }
}
