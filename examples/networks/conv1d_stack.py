"""A Conv1d stack over a time series of 24 features (a scanning MLP written as convolutions)."""
import torch.nn as nn


class Conv1dStack(nn.Module):
    def __init__(self, in_channels=24, hidden=8):
        super().__init__()
        self.conv1 = nn.Conv1d(in_channels, hidden, kernel_size=8, stride=4)
        self.conv2 = nn.Conv1d(hidden, 16, kernel_size=1, stride=1)
        self.conv3 = nn.Conv1d(16, 4, kernel_size=1, stride=1)
        self.relu = nn.ReLU()
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(4 * 31, 8)

    def forward(self, x):
        x = self.relu(self.conv1(x))
        x = self.relu(self.conv2(x))
        x = self.conv3(x)
        return self.fc(self.flatten(x))
