#include <cstdio>
int main() { std::puts("slipway"); return 0; }
