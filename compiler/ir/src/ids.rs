//! Typed `u32` handles into the graph's arenas (values, nodes, weights).

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
        pub struct $name(pub u32);

        impl $name {
            /// The arena slot this id names.
            pub fn index(self) -> usize {
                self.0 as usize
            }

            /// The id of arena slot `i`. Arenas never exceed `u32::MAX` entries: the
            /// graph builder checks before pushing.
            pub fn from_index(i: usize) -> Self {
                $name(u32::try_from(i).expect("arena index exceeds u32"))
            }
        }
    };
}

typed_id!(
    /// A tensor value: a graph input, a node output or a weight.
    ValueId
);
typed_id!(
    /// A node (one op application) in the graph's node arena.
    NodeId
);
typed_id!(
    /// A weight in the graph's out-of-line [`crate::WeightStore`].
    WeightId
);
