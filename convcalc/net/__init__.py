"""Whole-network sizing: parse a PyTorch layer list, then shapes, parameters, MACs and
receptive fields. Pure computation: nothing here prints or imports Rich, Typer or SymPy."""

from convcalc.net.layers import (
    AdaptivePoolLayer,
    BatchNormLayer,
    ConvLayer,
    CourseResampleLayer,
    ElementwiseLayer,
    FlattenLayer,
    Layer,
    LinearLayer,
    PoolLayer,
    ResampleLayer,
)
from convcalc.net.parse import parse_network
from convcalc.net.receptive import AxisField, FieldRow, ReceptiveFields, receptive_fields
from convcalc.net.shapes import LayerShape, NetworkShapes, parse_shape, propagate

__all__ = [
    "AdaptivePoolLayer",
    "AxisField",
    "BatchNormLayer",
    "ConvLayer",
    "CourseResampleLayer",
    "ElementwiseLayer",
    "FieldRow",
    "FlattenLayer",
    "Layer",
    "LayerShape",
    "LinearLayer",
    "NetworkShapes",
    "PoolLayer",
    "ReceptiveFields",
    "ResampleLayer",
    "parse_network",
    "parse_shape",
    "propagate",
    "receptive_fields",
]
