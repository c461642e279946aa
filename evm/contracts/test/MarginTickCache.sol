// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.13;

import {MarginVerifier, MarginVerifierLib} from "../generated/MarginVerifier.sol";

/// @title Test fixture: a generated verifier used the way a settlement contract will.
/// @notice The weights change only with the risk parameters: they are folded once, at
/// construction. The prices change every tick: `postTick` folds them on top and keeps
/// the point in storage (two slots). A proof then pays only for its own three inputs,
/// either with the library inlined (`verifyMargin`) or through an external call to a
/// deployed MarginVerifier (`verifyMarginByCall`); the tests measure both.
contract MarginTickCache {
    /// The deployed verifier `verifyMarginByCall` calls.
    MarginVerifier public immutable verifier;
    /// IC_0 + the weights' terms, folded at construction.
    uint256 public paramsX;
    uint256 public paramsY;
    /// The params point + the current tick's prices' terms.
    uint256 public tickX;
    uint256 public tickY;

    constructor(MarginVerifier verifier_, uint256[24] memory weights) {
        verifier = verifier_;
        (uint256 cx, uint256 cy) = MarginVerifierLib.constantTerm();
        (paramsX, paramsY) = MarginVerifierLib.foldWeights(weights, cx, cy);
    }

    /// Folds a tick's prices onto the params point and keeps the result.
    function postTick(uint256[16] calldata prices) external {
        (tickX, tickY) = MarginVerifierLib.foldPrices(prices, paramsX, paramsY);
    }

    /// Verifies a margin proof at the current tick, the library inlined.
    function verifyMargin(uint256[8] calldata proof, uint256 commitment, uint256 status, uint256 tau)
        external
        view
    {
        MarginVerifierLib.verifyFolded(proof, [commitment, status, tau], tickX, tickY);
    }

    /// The same through an external call to the deployed verifier.
    function verifyMarginByCall(uint256[8] calldata proof, uint256 commitment, uint256 status, uint256 tau)
        external
        view
    {
        verifier.verifyFolded(proof, [commitment, status, tau], [tickX, tickY]);
    }
}
