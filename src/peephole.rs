//! Peephole stage after layout.
pub fn optimize(insns: Vec<crate::Insn>, _d: &crate::set::Decisions) -> Vec<crate::Insn> {
    insns
}
